//! Calendar dates (`YYYY-MM-DD`, proleptic Gregorian, UTC): exception expiry, the capture
//! times of configuration items (`crate::version`) and epoch seconds written as RFC 3339
//! (`crate::item::epoch_to_rfc3339`) all count days with this one piece of arithmetic.
//!
//! Hand-written rather than a date crate: the exceptions file needs parsing, ordering and
//! adding days, nothing else, and the arithmetic is Howard Hinnant's `days_from_civil` /
//! `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>), a few lines that
//! the tests check against known dates. Reading the clock is the caller's business: the pure
//! core takes today's date as an argument, so tests pin it.

use std::fmt;

/// A calendar day. Orders as dates do (the fields are compared year first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// `YYYY-MM-DD` exactly (four-digit year, two-digit month and day), a day that exists.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return None;
        }
        let number = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u32>().ok());
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        Date::from_civil(i32::try_from(year).ok()?, month, day)
    }

    /// The date `year`-`month`-`day`, if that day exists.
    pub fn from_civil(year: i32, month: u32, day: u32) -> Option<Date> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(self) -> u32 {
        self.day
    }

    /// The day `seconds` after 1970-01-01T00:00:00Z falls on (UTC).
    pub fn from_unix_seconds(seconds: u64) -> Date {
        Date::from_days(i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2))
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days(self) -> i64 {
        let (y, m, d) = (i64::from(self.year), i64::from(self.month), i64::from(self.day));
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    /// This date moved by `days` (negative: earlier).
    pub fn plus_days(self, days: i64) -> Date {
        Date::from_days(self.days() + days)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_and_their_day_numbers() {
        for (text, days) in [
            ("1970-01-01", 0),
            ("1969-12-31", -1),
            ("2000-02-29", 11_016),
            ("2026-12-05", 20_792),
            ("2027-03-31", 20_908),
            ("2100-03-01", 47_541),
        ] {
            let date = Date::parse(text).unwrap();
            assert_eq!(date.days(), days, "{text}");
            assert_eq!(Date::from_days(days), date, "{text}");
            assert_eq!(date.to_string(), text);
        }
        assert_eq!(Date::from_unix_seconds(1_764_892_800 + 86_399).to_string(), "2025-12-05");
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let start = Date::parse("1900-01-01").unwrap().days();
        let mut previous: Option<Date> = None;
        for days in start..start + 146_097 {
            let date = Date::from_days(days);
            assert_eq!(date.days(), days);
            assert_eq!(Date::parse(&date.to_string()), Some(date));
            assert!(previous.is_none_or(|p| p < date));
            previous = Some(date);
        }
    }

    #[test]
    fn only_real_days_in_the_exact_shape_parse() {
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-00-10",
            "2027-04-31",
            "27-03-31",
            "2027-3-31",
            "2027/03/31",
            "2027-03-31T00:00:00Z",
            " 2027-03-31",
            "",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert!(Date::parse("2028-02-29").is_some());
        assert_eq!(Date::parse("2027-03-31").unwrap().plus_days(1).to_string(), "2027-04-01");
    }
}
