use std::fmt;

/// A six-digit one-time login code. `Debug` hides it so it never reaches logs.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCode(String);

impl LoginCode {
    pub const LEN: usize = 6;

    pub fn generate() -> Self {
        Self(crate::crypto::random_digits(Self::LEN))
    }

    /// Accepts what people type: spaces and dashes are ignored.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if digits.is_empty() {
            return Err("Enter the code from the email.".into());
        }
        if digits.len() != Self::LEN || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("The code is six digits.".into());
        }
        Ok(Self(digits))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginCode(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::LoginCode;

    #[test]
    fn parses_six_digits_leniently() {
        assert_eq!(LoginCode::parse(" 123 456 ").unwrap().expose(), "123456");
        assert_eq!(LoginCode::parse("123-456").unwrap().expose(), "123456");
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(LoginCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_codes_parse_and_hide() {
        let c = LoginCode::generate();
        assert!(LoginCode::parse(c.expose()).is_ok());
        assert_eq!(format!("{c:?}"), "LoginCode(******)");
    }
}
