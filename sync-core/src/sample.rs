//! Deterministic synthetic residents for demos, benchmarks and tests: a
//! small seeded generator ([`Rng`], SplitMix64) and Vietnamese family,
//! middle and given names, streets and personal-ID prefixes in roughly the
//! population's proportions. Never for real data: every value is made up.
//!
//! ```
//! use sync_core::sample::{person, Rng, FAMILY};
//! use sync_core::ids::Sex;
//! let mut rng = Rng(7);
//! let family = *rng.weighted(FAMILY);
//! let p = person(&mut rng, family, Sex::Female, 1990);
//! assert!(p.full_name.starts_with(family));
//! ```

use crate::ids::{BirthDate, PersonalId, PhoneNumber, Sex};
use crate::model::{ProtectedResidentInfo, RegistryStatus, ResidentInfo};

/// SplitMix64: small, deterministic, good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as usize) as i32
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// One of `xs`, uniformly.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// One of `xs`, in proportion to its weight.
    pub fn weighted<'a, T>(&mut self, xs: &'a [(T, u32)]) -> &'a T {
        let total: u32 = xs.iter().map(|(_, w)| *w).sum();
        let mut r = self.below(total as usize) as u32;
        for (x, w) in xs {
            if r < *w {
                return x;
            }
            r -= w;
        }
        &xs[xs.len() - 1].0
    }
}

/// Family names with roughly their share of the population (per mille).
pub const FAMILY: &[(&str, u32)] = &[
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 51),
    ("Huỳnh", 30),
    ("Phan", 45),
    ("Vũ", 39),
    ("Võ", 25),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
];
/// Men's middle names.
pub const MIDDLE_M: &[&str] = &[
    "Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Thành", "Xuân", "Đình", "Ngọc", "Anh", "Mạnh",
];
/// Women's middle names.
pub const MIDDLE_F: &[&str] = &[
    "Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Kim", "Minh", "Hồng", "Thùy", "Phương", "Bích",
];
/// Men's given names.
pub const GIVEN_M: &[&str] = &[
    "Anh", "Bình", "Cường", "Dũng", "Hùng", "Hải", "Hoàng", "Huy", "Khoa", "Long", "Nam", "Phong",
    "Quân", "Sơn", "Thắng", "Tuấn", "Việt", "Đạt", "Hiếu", "Trung", "Toàn", "Khánh", "Lâm", "Tú",
];
/// Women's given names.
pub const GIVEN_F: &[&str] = &[
    "Anh", "Hà", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Ngân", "Nhung", "Phương",
    "Quỳnh", "Thảo", "Trang", "Vân", "Yến", "Hạnh", "Loan", "Tuyết", "Huyền", "Ly", "Oanh", "Dung",
];
/// Streets of Ba Đình, Hà Nội.
pub const STREETS: &[&str] = &[
    "Đội Cấn",
    "Kim Mã",
    "Liễu Giai",
    "Ngọc Hà",
    "Hoàng Hoa Thám",
    "Văn Cao",
    "Nguyễn Thái Học",
    "Quán Thánh",
    "Phan Đình Phùng",
    "Giảng Võ",
    "Lê Hồng Phong",
    "Điện Biên Phủ",
];
/// Pre-2025 province codes that personal ID numbers start with.
pub const BIRTH_PROVINCES: &[(&str, u32)] = &[
    ("001", 70),
    ("034", 8),
    ("036", 8),
    ("038", 6),
    ("040", 5),
    ("030", 3),
];

/// A resident of `family`, `sex`, born in `born`: a three- or four-word
/// name, a personal ID consistent with sex and century, a birth date (the
/// year only for some of the old), a phone for most adults, and an account
/// status in proportions like the campaigns' figures (minors: no account).
pub fn person(rng: &mut Rng, family: &str, sex: Sex, born: i32) -> ResidentInfo {
    let (middles, givens) = match sex {
        Sex::Male => (MIDDLE_M, GIVEN_M),
        Sex::Female => (MIDDLE_F, GIVEN_F),
    };
    let mut name = format!("{family} {}", rng.pick(middles));
    if rng.chance(0.25) {
        // Four-word names: "Nguyễn Thị Thu Hà".
        name.push(' ');
        name.push_str(rng.pick::<&str>(middles));
    }
    name.push(' ');
    name.push_str(rng.pick::<&str>(givens));
    let century_sex = match (born >= 2000, sex) {
        (false, Sex::Male) => 0,
        (false, Sex::Female) => 1,
        (true, Sex::Male) => 2,
        (true, Sex::Female) => 3,
    };
    let pid = format!(
        "{}{}{:02}{:06}",
        rng.weighted(BIRTH_PROVINCES),
        century_sex,
        born % 100,
        rng.below(1_000_000)
    );
    let birth = if born < 1950 && rng.chance(0.5) {
        BirthDate::from_parts(born, None, None).ok()
    } else {
        BirthDate::from_parts(
            born,
            Some(rng.range(1, 12) as u32),
            Some(rng.range(1, 28) as u32),
        )
        .ok()
    };
    let adult = born <= 2008;
    let phone = (adult && rng.chance(0.75)).then(|| {
        let prefix = rng.pick(&["09", "03", "08", "07", "05"]);
        PhoneNumber::parse(&format!("{prefix}{:08}", rng.below(100_000_000))).ok()
    });
    let registry = if !adult {
        RegistryStatus::NoAccount
    } else {
        *rng.weighted(&[
            (RegistryStatus::NoAccount, 35),
            (RegistryStatus::Level1, 25),
            (RegistryStatus::Collected, 5),
            (RegistryStatus::PendingApproval, 5),
            (RegistryStatus::ApprovedNotActivated, 5),
            (RegistryStatus::Activated, 25),
        ])
    };
    ResidentInfo {
        full_name: name,
        sex: Some(sex),
        registry,
        protected: ProtectedResidentInfo {
            personal_id: PersonalId::parse(&pid).ok(),
            birth_date: birth,
            phone: phone.flatten(),
        },
        newcomer: false,
    }
}
