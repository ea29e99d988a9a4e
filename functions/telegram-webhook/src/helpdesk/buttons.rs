//! The callback data of `/ask` buttons: `hd:<what>`. They name nothing: the
//! draft is the presser's, found by their Telegram id, and only its latest
//! message's buttons act.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AskButton {
    Back,
    Cancel,
    Post,
}

const PREFIX: &str = "hd:";

impl AskButton {
    pub fn encode(self) -> String {
        let what = match self {
            AskButton::Back => "back",
            AskButton::Cancel => "x",
            AskButton::Post => "post",
        };
        format!("{PREFIX}{what}")
    }

    /// `None` for anything this module did not encode.
    pub fn parse(data: &str) -> Option<Self> {
        Some(match data.strip_prefix(PREFIX)? {
            "back" => AskButton::Back,
            "x" => AskButton::Cancel,
            "post" => AskButton::Post,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_round_trip_and_nothing_else_parses() {
        for b in [AskButton::Back, AskButton::Cancel, AskButton::Post] {
            assert_eq!(AskButton::parse(&b.encode()), Some(b));
        }
        for bad in ["hd:", "hd:post:1", "fr:back", "back", "n:up"] {
            assert_eq!(AskButton::parse(bad), None, "{bad}");
        }
    }
}
