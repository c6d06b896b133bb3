//! Validation of identifiers and Vietnamese text handling with real-shaped
//! data: personal ID numbers, phones, birth dates, communes, names, search
//! folding and list order.

use sync_core::ids::{
    BirthDate, BirthDatePrecision, CommuneCode, CommuneType, IdDataFlag, PersonName, PersonalId,
    PhoneNumber, ProvinceCode, ProvinceType, Sex, ValidationError, all_communes, all_provinces,
    communes_of,
};
use sync_core::text::{collator, fold, house_number_key, matches, name_sort_key};

fn id(s: &str) -> PersonalId {
    PersonalId::parse(s).unwrap_or_else(|e| panic!("valid ID rejected: {e}"))
}

fn date(s: &str) -> BirthDate {
    BirthDate::parse(s).unwrap_or_else(|e| panic!("valid date {s} rejected: {e}"))
}

// --- personal ID numbers ----------------------------------------------------

#[test]
fn valid_personal_ids_decode() {
    let hn = id("001090012345");
    assert_eq!(hn.province_code(), "001");
    assert_eq!(hn.province_name(), "Thành phố Hà Nội");
    assert_eq!(hn.sex(), Sex::Male);
    assert_eq!(hn.birth_year(), 1990);

    let hcm = id("079303004567");
    assert_eq!(hcm.province_code(), "079");
    assert_eq!(hcm.province_name(), "Thành phố Hồ Chí Minh");
    assert_eq!(hcm.sex(), Sex::Female);
    assert_eq!(hcm.birth_year(), 2003);

    let th = id("038185000123");
    assert_eq!(th.province_name(), "Tỉnh Thanh Hóa");
    assert_eq!((th.sex(), th.birth_year()), (Sex::Female, 1985));

    let future = id("096400000001");
    assert_eq!((future.sex(), future.birth_year()), (Sex::Male, 2100));

    // Spaces are tolerated and removed.
    assert_eq!(id("  001 090 012 345\t").as_str(), "001090012345");
}

#[test]
fn invalid_personal_ids_are_rejected_with_codes() {
    let cases = [
        ("000090012345", "personal_id.province"),
        ("003090012345", "personal_id.province"),
        ("100090012345", "personal_id.province"),
        ("00109001234", "personal_id.length"),
        ("0010900123456", "personal_id.length"),
        ("", "personal_id.length"),
        ("00109O012345", "personal_id.character"),
        ("001-090-012-345", "personal_id.character"),
        ("001690012345", "personal_id.century"),
        ("001790012345", "personal_id.century"),
        ("001890012345", "personal_id.century"),
        ("001990012345", "personal_id.century"),
    ];
    for (input, code) in cases {
        let err = PersonalId::parse(input).expect_err(input);
        assert_eq!(err.code(), code, "{input}");
    }
    assert_eq!(
        PersonalId::parse("00109001234"),
        Err(ValidationError::PersonalIdLength { found: 11 })
    );
    assert_eq!(
        PersonalId::parse("00109O012345"),
        Err(ValidationError::PersonalIdCharacter { position: 6 })
    );
    assert_eq!(
        PersonalId::parse("00109001234").map_err(|e| e.message_vi()),
        Err("Số định danh cá nhân phải có đúng 12 chữ số (đang có 11 chữ số)".to_owned())
    );
}

#[test]
fn personal_id_mismatches_are_flags_not_rejections() {
    let hn = id("001090012345");
    assert!(hn.check_against(None, None).is_empty());
    assert!(
        hn.check_against(Some(&date("15/03/1990")), Some(Sex::Male))
            .is_empty()
    );
    assert!(hn.check_against(Some(&date("1990")), None).is_empty());
    assert_eq!(
        hn.check_against(Some(&date("15/03/1991")), None),
        vec![IdDataFlag::BirthYearMismatch]
    );
    assert_eq!(
        hn.check_against(None, Some(Sex::Female)),
        vec![IdDataFlag::SexMismatch]
    );
    assert_eq!(
        hn.check_against(Some(&date("2090")), Some(Sex::Female)),
        vec![IdDataFlag::BirthYearMismatch, IdDataFlag::SexMismatch]
    );
    assert_eq!(
        IdDataFlag::BirthYearMismatch.code(),
        "personal_id.birth_year_mismatch"
    );
}

#[test]
fn personal_id_is_masked_in_debug_but_full_in_display_and_serde() {
    let hn = id("001090012345");
    assert_eq!(hn.masked(), "001******345");
    let debug = format!("{hn:?}");
    assert!(!debug.contains("001090012345"), "{debug}");
    assert!(debug.contains("001******345"));
    assert_eq!(hn.to_string(), "001090012345");

    let json = serde_json::to_string(&hn).expect("serialise");
    assert_eq!(json, "\"001090012345\"");
    let back: PersonalId = serde_json::from_str("\" 001 090 012 345 \"").expect("deserialise");
    assert_eq!(back, hn);
    assert!(serde_json::from_str::<PersonalId>("\"003090012345\"").is_err());
}

// --- phone numbers ----------------------------------------------------------

#[test]
fn phone_numbers_normalise() {
    for input in [
        "0912345678",
        "+84 912 345 678",
        "84-912.345.678",
        "+84912345678",
        "(+84) 912 345 678",
        "0912.345.678",
        "0912 345 678",
    ] {
        let phone = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(phone.as_str(), "0912345678", "{input}");
    }
    for (input, normal) in [
        ("0352 123 456", "0352123456"),
        ("+84 56 123 4567", "0561234567"),
        ("070-123-4567", "0701234567"),
        ("0868 123 456", "0868123456"),
    ] {
        let phone = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(phone.as_str(), normal);
    }
    let phone = PhoneNumber::parse("0912345678").expect("valid");
    assert_eq!(phone.masked(), "09******78");
    assert!(!format!("{phone:?}").contains("0912345678"));
    assert_eq!(
        serde_json::to_string(&phone).expect("serialise"),
        "\"0912345678\""
    );
    let back: PhoneNumber = serde_json::from_str("\"+84 912 345 678\"").expect("deserialise");
    assert_eq!(back, phone);
}

#[test]
fn invalid_phone_numbers() {
    let cases = [
        ("0212345678", "phone.prefix"), // landline
        ("0112345678", "phone.prefix"),
        ("+1 415 555 0100", "phone.prefix"),
        ("091234567", "phone.length"),
        ("09123456789", "phone.length"),
        ("", "phone.length"),
        ("0912-345-67a", "phone.format"),
        ("0912/345/678", "phone.format"),
    ];
    for (input, code) in cases {
        let err = PhoneNumber::parse(input).expect_err(input);
        assert_eq!(err.code(), code, "{input}");
    }
}

// --- birth dates ------------------------------------------------------------

#[test]
fn birth_date_forms() {
    let full = date("15/03/1990");
    for other in ["15-03-1990", "15.03.1990", "1990-03-15", " 15/3/1990 "] {
        assert_eq!(date(other), full, "{other}");
    }
    assert_eq!(full.to_string(), "15/03/1990");
    assert_eq!(full.precision(), BirthDatePrecision::Day);

    let month = date("3/1990");
    assert_eq!(month, date("03/1990"));
    assert_eq!(month.to_string(), "03/1990");
    assert_eq!(
        (month.year(), month.month(), month.day()),
        (1990, Some(3), None)
    );

    let year = date("1990");
    assert_eq!(year.to_string(), "1990");
    assert_eq!(year.precision(), BirthDatePrecision::Year);

    assert!(year < month && month < full && full < date("16/03/1990"));
    assert!(date("31/12/1989") < year);

    for (d, iso) in [
        (full, "\"1990-03-15\""),
        (month, "\"1990-03\""),
        (year, "\"1990\""),
    ] {
        assert_eq!(serde_json::to_string(&d).expect("serialise"), iso);
        assert_eq!(
            serde_json::from_str::<BirthDate>(iso).expect("deserialise"),
            d
        );
        let debug = format!("{d:?}");
        assert!(!debug.contains("1990"), "{debug}");
    }
    assert_eq!(format!("{year:?}"), "BirthDate(year-only)");
}

#[test]
fn birth_date_calendar_rules() {
    assert_eq!(date("29/02/2000").day(), Some(29)); // divisible by 400
    assert_eq!(date("29/02/2024").day(), Some(29));
    let cases = [
        ("29/02/1900", "birth_date.day"), // divisible by 100, not by 400
        ("29/02/2023", "birth_date.day"),
        ("31/04/1990", "birth_date.day"),
        ("31/06/1990", "birth_date.day"),
        ("32/01/1990", "birth_date.day"),
        ("15/13/1990", "birth_date.month"),
        ("1899", "birth_date.range"),
        ("2101", "birth_date.range"),
        ("15/03/90", "birth_date.format"),
        ("15/03-1990", "birth_date.format"),
        ("ngày 15", "birth_date.format"),
        ("", "birth_date.format"),
    ];
    for (input, code) in cases {
        let err = BirthDate::parse(input).expect_err(input);
        assert_eq!(err.code(), code, "{input}");
    }
    assert!(BirthDate::parse("1900").is_ok());
    assert!(BirthDate::parse("31/12/2100").is_ok());
}

#[test]
fn age_never_underestimated_when_date_is_partial() {
    // Campaign rule: 14 or more. Someone recorded only as born in 2010 is
    // counted as 14 from 1 January 2024.
    assert_eq!(date("2010").age_on(2024, 1, 1), 14);
    assert_eq!(date("12/2010").age_on(2024, 11, 30), 13);
    assert_eq!(date("12/2010").age_on(2024, 12, 1), 14);
    assert_eq!(date("15/06/2010").age_on(2024, 6, 14), 13);
    assert_eq!(date("15/06/2010").age_on(2024, 6, 15), 14);
    assert_eq!(date("29/02/2008").age_on(2022, 2, 28), 13);
    assert_eq!(date("29/02/2008").age_on(2022, 3, 1), 14);
}

// --- communes and provinces ---------------------------------------------------

#[test]
fn communes_and_provinces() {
    let ba_dinh = CommuneCode::parse("00004").expect("Ba Đình exists");
    assert_eq!(ba_dinh.commune_name(), "Phường Ba Đình");
    assert_eq!(ba_dinh.commune_type(), CommuneType::Ward);
    assert_eq!(ba_dinh.province_code(), "01");
    assert_eq!(ba_dinh.province_name(), "Thành phố Hà Nội");
    assert_eq!(
        ba_dinh.province().province_type(),
        ProvinceType::Municipality
    );

    let van_don = CommuneCode::parse("06994").expect("Vân Đồn exists");
    assert_eq!(van_don.commune_name(), "Đặc khu Vân Đồn");
    assert_eq!(van_don.commune_type(), CommuneType::SpecialZone);
    assert_eq!(van_don.province_name(), "Quảng Ninh");

    assert_eq!(
        CommuneCode::parse("00001").map_err(|e| e.code()),
        Err("commune.unknown")
    );
    assert_eq!(
        CommuneCode::parse("99999").map_err(|e| e.code()),
        Err("commune.unknown")
    );
    assert_eq!(
        CommuneCode::parse("4").map_err(|e| e.code()),
        Err("commune.format")
    );
    assert_eq!(
        CommuneCode::parse("0000A").map_err(|e| e.code()),
        Err("commune.format")
    );

    let hanoi = ProvinceCode::parse("01").expect("Hà Nội exists");
    assert_eq!(hanoi.name(), "Thành phố Hà Nội");
    assert!(communes_of(&hanoi).any(|c| c == ba_dinh));
    assert!(communes_of(&hanoi).all(|c| c.province() == hanoi));
    assert_eq!(
        ProvinceCode::parse("02").map_err(|e| e.code()),
        Err("province.unknown")
    );
    assert_eq!(
        ProvinceCode::parse("001").map_err(|e| e.code()),
        Err("province.format")
    );

    assert_eq!(all_provinces().count(), 34);
    assert_eq!(all_communes().count(), 3321);
    let per_province: usize = all_provinces().map(|p| communes_of(&p).count()).sum();
    assert_eq!(per_province, 3321);

    assert_eq!(
        serde_json::to_string(&ba_dinh).expect("serialise"),
        "\"00004\""
    );
    let back: CommuneCode = serde_json::from_str("\"00004\"").expect("deserialise");
    assert_eq!(back, ba_dinh);
    assert!(serde_json::from_str::<CommuneCode>("\"00001\"").is_err());
    assert_eq!(format!("{ba_dinh:?}"), "CommuneCode(\"00004\")");
}

// --- names --------------------------------------------------------------------

#[test]
fn person_names() {
    let n = PersonName::parse("  Nguyễn  Thị Thu   Hà ").expect("valid");
    assert_eq!(n.as_str(), "Nguyễn Thị Thu Hà");
    assert_eq!(n.family(), Some("Nguyễn"));
    assert_eq!(n.middle(), Some("Thị Thu"));
    assert_eq!(n.given(), "Hà");
    assert_eq!(n.folded(), "nguyen thi thu ha");
    assert_eq!(format!("{n:?}"), "PersonName(..)");

    let two = PersonName::parse("Mai Anh").expect("valid");
    assert_eq!(
        (two.family(), two.middle(), two.given()),
        (Some("Mai"), None, "Anh")
    );

    // Decomposed input is stored composed (NFC).
    let nfd = "Nguye\u{302}\u{303}n Thi\u{323} Ngo\u{323}c A\u{301}nh";
    let nfc = PersonName::parse(nfd).expect("valid");
    assert_eq!(nfc.as_str(), "Nguyễn Thị Ngọc Ánh");

    assert_eq!(
        PersonName::parse("   ").map_err(|e| e.code()),
        Err("name.empty")
    );
    assert_eq!(
        PersonName::parse("Nguyễn Văn 3").map_err(|e| e.code()),
        Err("name.digit")
    );
    assert_eq!(
        PersonName::parse("Lê\u{0}An").map_err(|e| e.code()),
        Err("name.control")
    );
    let long = "Nguyễn ".repeat(20);
    assert_eq!(
        PersonName::parse(&long).map_err(|e| e.code()),
        Err("name.too_long")
    );

    let json = serde_json::to_string(&n).expect("serialise");
    assert_eq!(json, "\"Nguyễn Thị Thu Hà\"");
    let back: PersonName = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, n);
}

// --- no personal data in errors ---------------------------------------------------

#[test]
fn errors_never_contain_the_input() {
    fn check(input: &str, err: &ValidationError) {
        let texts = [err.to_string(), err.message_vi(), format!("{err:?}")];
        let value = input.trim();
        for text in texts {
            assert!(
                !text.contains(value),
                "{text:?} contains the value {value:?}"
            );
        }
    }
    for input in [
        "001090012345X",
        "00109001234",
        "003090012345",
        "001690012345",
        "0010900123456",
    ] {
        let err = PersonalId::parse(input).expect_err(input);
        check(input, &err);
    }
    for input in ["0212345678", "091234567", "09123456789", "0912 345 67x"] {
        check(input, &PhoneNumber::parse(input).expect_err(input));
    }
    for input in ["29/02/1900", "31/04/1990", "15/13/1990", "1899", "15/03/90"] {
        check(input, &BirthDate::parse(input).expect_err(input));
    }
    for input in ["Nguyễn Văn 3", "Lê\u{7}Thị Hồng"] {
        check(input, &PersonName::parse(input).expect_err(input));
    }

    // Nor do deserialisation errors, even for values of the wrong JSON type.
    for json in [
        "\"003090012345\"",
        "1090012345",
        "\"0212345678\"",
        "\"31/04/1990\"",
    ] {
        let errs = [
            serde_json::from_str::<PersonalId>(json).err(),
            serde_json::from_str::<PhoneNumber>(json).err(),
            serde_json::from_str::<BirthDate>(json).err(),
        ];
        for err in errs.into_iter().flatten() {
            let text = err.to_string();
            assert!(!text.contains(json.trim_matches('"')), "{text}");
        }
    }
}

// --- search -------------------------------------------------------------------

#[test]
fn folding_and_matching() {
    assert_eq!(fold("Nguyễn Thị Thu Hà"), "nguyen thi thu ha");
    assert_eq!(fold("ĐỖ Văn Đức"), "do van duc");
    assert_eq!(fold("Trương Ngọc Ánh"), "truong ngoc anh");
    assert_eq!(fold("Phạm  Thị\u{a0}Hương "), "pham thi huong");
    // Decomposed (NFD) input, as some keyboards and macOS produce.
    assert_eq!(fold("Nguye\u{302}\u{303}n"), "nguyen");

    let hay = fold("Nguyễn Thị Thu Hà");
    for q in [
        "ha nguyen",
        "nguyen thi ha",
        "thu h",
        "NGUYEN",
        "Hà",
        "nguyễn thu",
        "ng t t h",
    ] {
        assert!(matches(q, &hay), "{q}");
    }
    for q in ["hai", "tran", "nguyen van", "thuy", "ha ha"] {
        assert!(!matches(q, &hay), "{q}");
    }
    assert!(matches("duc do", &fold("Đỗ Văn Đức")));
    assert!(matches("đức", &fold("Đỗ Văn Đức")));
}

// --- ordering -----------------------------------------------------------------

#[test]
fn vietnamese_list_order() {
    // Worked out by hand: given name, then middle name, then family name;
    // a < ă < â, d < đ, tones after the letters (An < Anh < Ánh < Ân), a
    // missing middle name first.
    let expected = [
        "Nguyễn Văn An",
        "Mai Anh",
        "Phạm Đức Anh",
        "Lê Văn Anh",
        "Lê Thị Ánh",
        "Trần Thị Ánh",
        "Nguyễn Thị Ân",
        "Đỗ Thị Ba",
        "Trần Văn Bách",
        "Lê Văn Bắc",
        "Hoàng Văn Dũng",
        "Nguyễn Thị Đào",
        "Dương Văn Đức",
        "Phan Văn Đức",
        "Bùi Thị Hà",
        "Nguyễn Thị Hà",
        "Vũ Thị Thu Hà",
        "Đặng Thị Hải",
    ];
    // A scrambled copy.
    let mut names: Vec<&str> = expected.to_vec();
    names.reverse();
    names.swap(2, 9);
    names.swap(0, 13);
    names.sort_by_key(|n| name_sort_key(n));
    assert_eq!(names, expected);

    // Through PersonName as well.
    let mut people: Vec<PersonName> = expected
        .iter()
        .rev()
        .map(|n| PersonName::parse(n).expect("valid"))
        .collect();
    people.sort_by_key(PersonName::sort_key);
    let sorted: Vec<&str> = people.iter().map(PersonName::as_str).collect();
    assert_eq!(sorted, expected);

    // Consecutive keys compare strictly, bytewise (as SQLite compares BLOBs).
    for pair in expected.windows(2) {
        assert!(name_sort_key(pair[0]) < name_sort_key(pair[1]), "{pair:?}");
    }
}

#[test]
fn collator_letter_order() {
    let c = collator();
    let mut words = vec![
        "đ", "ư", "ê", "b", "ơ", "d", "â", "u", "ă", "a", "o", "ô", "e",
    ];
    words.sort_by(|a, b| c.compare(a, b));
    assert_eq!(
        words,
        [
            "a", "ă", "â", "b", "d", "đ", "e", "ê", "o", "ô", "ơ", "u", "ư"
        ]
    );
    // Tone order: ngang, huyền, hỏi, ngã, sắc, nặng.
    let mut tones = vec!["ạ", "á", "ã", "ả", "à", "a"];
    tones.sort_by(|a, b| c.compare(a, b));
    assert_eq!(tones, ["a", "à", "ả", "ã", "á", "ạ"]);
    let mut by_key = tones.clone();
    by_key.reverse();
    by_key.sort_by_key(|s| c.sort_key(s));
    assert_eq!(by_key, tones);
}

#[test]
fn house_number_order() {
    let expected = [
        "5", "5A", "5B", "12", "12/3", "12/10", "12A", "13", "102", "K12/3", "",
    ];
    let mut numbers = expected.to_vec();
    numbers.reverse();
    numbers.sort_by_key(|s| house_number_key(s));
    assert_eq!(numbers, expected);
}

// --- wire formats -------------------------------------------------------------

#[test]
fn compact_binary_roundtrip() {
    // postcard is not self-describing: deserialisation must ask for a string.
    let record = (
        id("079303004567"),
        PhoneNumber::parse("0987654321").expect("valid"),
        date("01/2003"),
        PersonName::parse("Trần Thị Ánh").expect("valid"),
        CommuneCode::parse("00004").expect("valid"),
        ProvinceCode::parse("79").expect("valid"),
        Sex::Female,
    );
    let bytes = postcard::to_stdvec(&record).expect("serialise");
    let back: (
        PersonalId,
        PhoneNumber,
        BirthDate,
        PersonName,
        CommuneCode,
        ProvinceCode,
        Sex,
    ) = postcard::from_bytes(&bytes).expect("deserialise");
    assert_eq!(back, record);
    assert_eq!(
        serde_json::to_string(&Sex::Female).expect("serialise"),
        "\"female\""
    );
}
