//! A KMS key's state, spec, usage and multi-Region flag as Config records them (`keyState`,
//! `keySpec`, `keyUsage`, `multiRegion`), typed.
//!
//! Each keeps an `Other` variant with the text as written: AWS adds values to all three (key
//! states `Updating` and `PendingReplicaDeletion` came with multi-Region keys; key specs HMAC,
//! `SM2` and ML-DSA, usages `GENERATE_VERIFY_MAC` and `KEY_AGREEMENT` in later years), and an
//! item with a value this build does not know must still be read and judged, its value shown as
//! recorded. [`KeySpec`] names only the spec a rule tells apart (`SYMMETRIC_DEFAULT`); every
//! other spec is kept as written.

use std::fmt;

/// What a configuration item records of a key besides its id, manager, policy and tags. Each
/// is `None` when the item does not record it: older items and `select` results leave some out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttributes {
    /// `keyState`.
    pub state: Option<KeyState>,
    /// `keySpec`, or the older `customerMasterKeySpec`.
    pub spec: Option<KeySpec>,
    /// `keyUsage`.
    pub usage: Option<KeyUsage>,
    /// `multiRegion`.
    pub multi_region: Option<bool>,
}

/// `keyState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// `Creating`
    Creating,
    /// `Enabled`
    Enabled,
    /// `Disabled`
    Disabled,
    /// `PendingDeletion`
    PendingDeletion,
    /// `PendingImport`: key material not imported yet.
    PendingImport,
    /// `PendingReplicaDeletion`: a multi-Region replica being deleted.
    PendingReplicaDeletion,
    /// `Unavailable`: its custom key store is disconnected.
    Unavailable,
    /// `Updating`: a multi-Region key's primary changing.
    Updating,
    /// A state this build does not know, as written.
    Other(String),
}

impl KeyState {
    /// The state Config recorded (any text: an unknown one is [`KeyState::Other`]).
    pub fn parse(text: &str) -> KeyState {
        match text {
            "Creating" => KeyState::Creating,
            "Enabled" => KeyState::Enabled,
            "Disabled" => KeyState::Disabled,
            "PendingDeletion" => KeyState::PendingDeletion,
            "PendingImport" => KeyState::PendingImport,
            "PendingReplicaDeletion" => KeyState::PendingReplicaDeletion,
            "Unavailable" => KeyState::Unavailable,
            "Updating" => KeyState::Updating,
            other => KeyState::Other(other.to_owned()),
        }
    }

    /// The state as AWS writes it.
    pub fn as_str(&self) -> &str {
        match self {
            KeyState::Creating => "Creating",
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
            KeyState::Unavailable => "Unavailable",
            KeyState::Updating => "Updating",
            KeyState::Other(text) => text,
        }
    }

    /// Scheduled for deletion (a key, or a multi-Region replica).
    pub fn is_pending_deletion(&self) -> bool {
        matches!(self, KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    }
}

/// `keySpec` (or the older `customerMasterKeySpec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySpec {
    /// `SYMMETRIC_DEFAULT`: an AES-256 encryption key, the one spec Control Tower, CloudTrail
    /// and Config can use.
    SymmetricDefault,
    /// Any other spec (`RSA_2048`, `ECC_NIST_P256`, `HMAC_256`, `SM2`, ...), as written.
    Other(String),
}

impl KeySpec {
    /// The spec Config recorded.
    pub fn parse(text: &str) -> KeySpec {
        match text {
            "SYMMETRIC_DEFAULT" => KeySpec::SymmetricDefault,
            other => KeySpec::Other(other.to_owned()),
        }
    }

    /// The spec as AWS writes it.
    pub fn as_str(&self) -> &str {
        match self {
            KeySpec::SymmetricDefault => "SYMMETRIC_DEFAULT",
            KeySpec::Other(text) => text,
        }
    }
}

/// `keyUsage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUsage {
    /// `ENCRYPT_DECRYPT`
    EncryptDecrypt,
    /// `SIGN_VERIFY`
    SignVerify,
    /// `GENERATE_VERIFY_MAC`
    GenerateVerifyMac,
    /// `KEY_AGREEMENT`
    KeyAgreement,
    /// A usage this build does not know, as written.
    Other(String),
}

impl KeyUsage {
    /// The usage Config recorded.
    pub fn parse(text: &str) -> KeyUsage {
        match text {
            "ENCRYPT_DECRYPT" => KeyUsage::EncryptDecrypt,
            "SIGN_VERIFY" => KeyUsage::SignVerify,
            "GENERATE_VERIFY_MAC" => KeyUsage::GenerateVerifyMac,
            "KEY_AGREEMENT" => KeyUsage::KeyAgreement,
            other => KeyUsage::Other(other.to_owned()),
        }
    }

    /// The usage as AWS writes it.
    pub fn as_str(&self) -> &str {
        match self {
            KeyUsage::EncryptDecrypt => "ENCRYPT_DECRYPT",
            KeyUsage::SignVerify => "SIGN_VERIFY",
            KeyUsage::GenerateVerifyMac => "GENERATE_VERIFY_MAC",
            KeyUsage::KeyAgreement => "KEY_AGREEMENT",
            KeyUsage::Other(text) => text,
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for KeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_as_written() {
        let states = [
            "Creating",
            "Enabled",
            "Disabled",
            "PendingDeletion",
            "PendingImport",
            "PendingReplicaDeletion",
            "Unavailable",
            "Updating",
            "SomeFutureState",
        ];
        for text in states {
            assert_eq!(KeyState::parse(text).as_str(), text);
        }
        assert_eq!(KeyState::parse("enabled"), KeyState::Other("enabled".into()), "AWS writes states in one case");
        for text in ["SYMMETRIC_DEFAULT", "RSA_2048", "ML_DSA_44"] {
            assert_eq!(KeySpec::parse(text).as_str(), text);
        }
        for text in ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "FUTURE_USE"] {
            assert_eq!(KeyUsage::parse(text).as_str(), text);
        }
    }

    #[test]
    fn pending_deletion_covers_replicas() {
        assert!(KeyState::PendingDeletion.is_pending_deletion());
        assert!(KeyState::PendingReplicaDeletion.is_pending_deletion());
        assert!(!KeyState::Disabled.is_pending_deletion());
    }
}
