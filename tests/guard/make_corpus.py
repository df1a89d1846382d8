#!/usr/bin/env python3
"""Builds tests/guard/corpus.jsonl, the labelled corpus for the PII scanner.

Usage: python3 tests/guard/make_corpus.py [output [seed]]   (default: next to this file, seed 20240115)

Only the standard library is used and the seed is fixed, so the checked-in
corpus is reproducible. Each line is
    {"text": ..., "findings": [{"type": ..., "start": ..., "end": ...}]}
with UTF-8 byte offsets (end exclusive).

Labels follow docs/GUARD.md. Positives are generated with real validation
rules (RRN/FRN/BRN/CRN check digits, Luhn, issuer prefixes, area codes).
Hard negatives are built to look like PII but fail a rule a human reviewer
would also apply: impossible dates, unassigned area codes, Luhn failures,
digit runs longer than any identifier, order/tracking numbers next to the
word that says so, dotted version strings.

One kind of value is never generated as a negative: a bare 13-digit run that
is a complete, checksum-valid 주민등록번호. Such a number *is* an RRN as far
as anyone can tell from the text, so calling it an order number in the label
would only measure the generator's intent.
"""

import datetime
import json
import pathlib
import random
import sys

RNG = random.Random(20240115)

# ---------------------------------------------------------------------------
# validation rules (mirrors src/guard/validators.cpp; kept independent on purpose)


def rrn_check(d12):
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    s = sum(int(c) * w for c, w in zip(d12, weights))
    return str((11 - s % 11) % 10)


def frn_check(d12):
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    s = sum(int(c) * w for c, w in zip(d12, weights))
    return str((13 - s % 11) % 10)


def crn_check(d12):
    s = sum(int(c) * (1 if i % 2 == 0 else 2) for i, c in enumerate(d12))
    return str((10 - s % 10) % 10)


def brn_check(d9):
    weights = [1, 3, 7, 1, 3, 7, 1, 3, 5]
    s = sum(int(c) * w for c, w in zip(d9, weights)) + int(d9[8]) * 5 // 10
    return str((10 - s % 10) % 10)


def luhn_ok(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(prefix_without_check):
    for c in "0123456789":
        if luhn_ok(prefix_without_check + c):
            return prefix_without_check + c
    raise AssertionError


def rrn_shape_valid(d13):
    century = {"9": 1800, "0": 1800, "1": 1900, "2": 1900, "3": 2000, "4": 2000,
               "5": 1900, "6": 1900, "7": 2000, "8": 2000}[d13[6]]
    try:
        born = datetime.date(century + int(d13[0:2]), int(d13[2:4]), int(d13[4:6]))
    except ValueError:
        return False
    return born <= datetime.date.today()


def is_checksum_valid_rrn(d13):
    return len(d13) == 13 and d13.isdigit() and rrn_shape_valid(d13) and (
        rrn_check(d13[:12]) == d13[12] or (d13[6] in "5678" and frn_check(d13[:12]) == d13[12]))


# ---------------------------------------------------------------------------
# helpers

FULLWIDTH = {c: chr(0xFF10 + int(c)) for c in "0123456789"}
FULLWIDTH["-"] = "\uFF0D"


def to_fullwidth(value):
    return "".join(FULLWIDTH.get(c, c) for c in value)


def digits(n):
    return "".join(RNG.choice("0123456789") for _ in range(n))


def nz_digits(n):
    return RNG.choice("123456789") + digits(n - 1)


def random_date(start, end):
    span = (end - start).days
    return start + datetime.timedelta(days=RNG.randint(0, span))


class Case:
    """Builds a text from literal pieces and labelled entities."""

    def __init__(self):
        self.parts = []
        self.findings = []
        self.length = 0

    def text(self, s):
        self.parts.append(s)
        self.length += len(s.encode("utf-8"))
        return self

    def pii(self, kind, s):
        start = self.length
        self.text(s)
        self.findings.append({"type": kind, "start": start, "end": self.length})
        return self

    def render(self):
        return {"text": "".join(self.parts), "findings": self.findings}


def fill(template, *entities):
    """template uses {} slots; entities are (type, value) or plain strings."""
    case = Case()
    pieces = template.split("{}")
    assert len(pieces) == len(entities) + 1, template
    for i, piece in enumerate(pieces):
        case.text(piece)
        if i < len(entities):
            entity = entities[i]
            if isinstance(entity, tuple):
                case.pii(*entity)
            else:
                case.text(entity)
    return case.render()


def sep_join(groups, seps):
    out = groups[0]
    for group, sep in zip(groups[1:], seps):
        out += sep + group
    return out


# ---------------------------------------------------------------------------
# value generators


def rrn_value(kind="valid"):
    """kind: valid (pre-2020, check digit), random_era (born >= 2020-10), changed (pre-2020, bad check)."""
    while True:
        if kind == "random_era":
            born = random_date(datetime.date(2020, 10, 1), datetime.date(2024, 12, 31))
        else:
            born = random_date(datetime.date(1935, 1, 1), datetime.date(2019, 12, 31))
        g = RNG.choice("12") if born.year < 2000 else RNG.choice("34")
        head = born.strftime("%y%m%d") + g
        if kind == "valid":
            body = head + digits(5)
            return body + rrn_check(body)
        tail = digits(6)
        value = head + tail
        if kind == "changed" and rrn_check(value[:12]) == value[12]:
            continue
        return value


def frn_value():
    born = random_date(datetime.date(1950, 1, 1), datetime.date(2019, 12, 31))
    g = RNG.choice("56") if born.year < 2000 else RNG.choice("78")
    body = born.strftime("%y%m%d") + g + digits(5)
    return body + frn_check(body)


def crn_value():
    offices = ["1101", "1301", "1345", "1311", "1201", "1601", "1611", "2001", "1750", "1358"]
    types = ["11", "12", "13", "14", "21", "22", "31", "71"]
    while True:
        body = RNG.choice(offices) + RNG.choice(types) + digits(6)
        value = body + crn_check(body)
        if not is_checksum_valid_rrn(value):
            return value


def brn_value():
    body = str(RNG.randint(101, 899)) + "%02d" % RNG.choice([1, 5, 12, 23, 81, 82, 86, 87, 88, 90]) + digits(4)
    return body + brn_check(body)


def brn_invalid():
    while True:
        value = str(RNG.randint(101, 899)) + digits(7)
        if brn_check(value[:9]) != value[9]:
            return value


def phone_value():
    """Returns (text, kind) for a valid Korean phone number in a random style."""
    style = RNG.random()
    if style < 0.45:
        prefix, mid = "010", nz_digits(4)
    elif style < 0.55:
        prefix, mid = RNG.choice(["011", "016", "017", "018", "019"]), nz_digits(RNG.choice([3, 4]))
    elif style < 0.7:
        prefix, mid = "02", nz_digits(RNG.choice([3, 4]))
    elif style < 0.9:
        prefix = RNG.choice(["031", "032", "033", "041", "042", "043", "044", "051", "052", "053",
                             "054", "055", "061", "062", "063", "064"])
        mid = nz_digits(RNG.choice([3, 4]))
    else:
        prefix, mid = RNG.choice(["070", "080"]), nz_digits(4)
    last = digits(4)
    form = RNG.random()
    if form < 0.12:  # international
        national = prefix[1:]
        sep = RNG.choice(["-", " "])
        lead = RNG.choice(["+82 ", "+82-", "+82", "+82 (0)"])
        return lead + sep_join([national, mid, last], [sep, sep]).lstrip(), "intl"
    if form < 0.18 and prefix != "010":
        return "(" + prefix + ") " + mid + "-" + last, "paren"
    seps = RNG.choice([("-", "-"), ("-", "-"), (" ", " "), (".", "."), ("", ""), ("-", " "), (".", "-")])
    return sep_join([prefix, mid, last], seps), "domestic"


BANK_FORMATS = [
    ("국민은행", [6, 2, 6]), ("KB국민", [6, 2, 6]), ("신한은행", [3, 3, 6]), ("우리은행", [4, 3, 6]),
    ("하나은행", [3, 6, 5]), ("농협", [3, 4, 4, 2]), ("카카오뱅크", [4, 2, 7]), ("토스뱅크", [4, 4, 4]),
    ("기업은행", [3, 6, 2, 3]), ("케이뱅크", [3, 3, 6]), ("우체국", [6, 2, 6]), ("새마을금고", [4, 2, 7]),
]


def bank_value(hyphen=True):
    while True:
        name, groups = RNG.choice(BANK_FORMATS)
        parts = [nz_digits(groups[0])] + [digits(n) for n in groups[1:]]
        if name == "카카오뱅크":
            parts[0] = "3333"
        if name == "토스뱅크":
            parts[0] = "1000"
        joined = "".join(parts)
        # A bare account that happens to be a checksum-valid RRN is an RRN to any reader.
        if not hyphen and (is_checksum_valid_rrn(joined) or joined.startswith("0")):
            continue
        return name, ("-".join(parts) if hyphen else joined)


def card_value():
    scheme = RNG.choice(["visa", "visa", "mc", "mc2", "amex", "jcb", "unionpay", "bc", "diners"])
    if scheme == "visa":
        number = luhn_complete("4" + digits(14))
    elif scheme == "mc":
        number = luhn_complete(str(RNG.randint(51, 55)) + digits(13))
    elif scheme == "mc2":
        number = luhn_complete(str(RNG.randint(2221, 2720)) + digits(11))
    elif scheme == "amex":
        number = luhn_complete(RNG.choice(["34", "37"]) + digits(12))
    elif scheme == "jcb":
        number = luhn_complete(str(RNG.randint(3528, 3589)) + digits(11))
    elif scheme == "unionpay":
        number = luhn_complete("62" + digits(13))
    elif scheme == "bc":
        number = luhn_complete("94" + digits(13))
    else:
        number = luhn_complete("36" + digits(11))
    if len(number) == 15:
        groups = [number[:4], number[4:10], number[10:]]
    elif len(number) == 14:
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i:i + 4] for i in range(0, 16, 4)]
    sep = RNG.choice(["-", " ", "", "-", " "])
    if sep == "":
        return number
    seps = [sep] * (len(groups) - 1)
    if RNG.random() < 0.15:
        seps[-1] = "-" if sep == " " else " "  # mixed separators
    return sep_join(groups, seps)


def card_luhn_fail():
    while True:
        number = "4" + digits(15)
        if not luhn_ok(number):
            return number


def email_value():
    first = RNG.choice(["kim", "lee", "park", "choi", "jung", "minsu", "jiyoung", "hana", "support", "dev",
                        "seoyeon", "junho", "j.kim", "admin", "sales", "hr.team", "yuna"])
    local = first + RNG.choice(["", ".", "_", "", "+news", "-1"]) + RNG.choice(["", digits(2), digits(4), "kr"])
    local = local.rstrip(".-_") or first
    domain = RNG.choice(["naver.com", "gmail.com", "daum.net", "kakao.com", "hanmail.net", "samsung.com",
                         "company.co.kr", "korea.ac.kr", "example.org", "mail.example.com", "snu.ac.kr"])
    return local + "@" + domain


def ipv4_value():
    first = RNG.choice([1, 10, 14, 27, 39, 58, 59, 61, 110, 112, 115, 118, 121, 125, 172, 175, 180, 182,
                        183, 192, 203, 210, 211, 218, 220, 221, 222, 223])
    return ".".join([str(first)] + [str(RNG.randint(0, 255)) for _ in range(3)])


def ipv6_value():
    groups = ["%x" % RNG.randint(1, 0xFFFF) for _ in range(8)]
    style = RNG.random()
    if style < 0.3:
        return ":".join("%04x" % int(g, 16) for g in groups)
    if style < 0.6:
        return "2001:db8::" + ":".join(groups[5:])
    if style < 0.8:
        return "fe80::" + ":".join(groups[4:])
    if style < 0.9:
        return "::ffff:" + ipv4_value()
    return ":".join(groups[:3]) + "::" + groups[7]


def driver_value(style):
    region = "%02d" % RNG.choice(list(range(11, 27)) + [28])
    year = "%02d" % RNG.randint(0, 99)
    serial, check = digits(6), digits(2)
    if style == "bare":
        return region + year + serial + check
    sep = RNG.choice(["-", "-", "-", " "])
    return sep_join([region, year, serial, check], [sep] * 3)


def passport_value(new_format):
    letter = RNG.choice("MMMMSRODG")
    if new_format:
        return letter + digits(3) + RNG.choice("ABCDEFGHJKLNPQRTUVWXYZ") + digits(4)
    return letter + digits(8)


# ---------------------------------------------------------------------------
# templates

FILLER = [
    "", "안녕하세요. ", "확인 부탁드립니다. ", "Hi, ", "급해요! ", "고객센터입니다. ", "참고로 ",
    "아까 말씀드린 대로 ", "FYI ",
]
TAIL = ["", " 감사합니다.", " 확인해 주세요.", " thanks!", " ㅎㅎ", " 부탁드려요~", " (개인정보)"]


def wrap(template):
    return RNG.choice(FILLER) + template + RNG.choice(TAIL)


RRN_TEMPLATES = [
    "제 주민등록번호는 {}입니다.", "주민번호 {} 로 조회해 주세요", "번호는{}이에요", "본인확인: {}",
    "My resident registration number is {}.", "RRN {} 맞나요?", "{} 이 번호로 가입했어요",
    "고객 정보 - 이름: 김민수, 주민등록번호: {}", "주민등록번호({})를 입력하세요", "생년월일 포함 번호 {}요",
]
FRN_TEMPLATES = [
    "외국인등록번호는 {}입니다.", "Alien registration number: {}", "외국인 등록번호 {} 확인 바랍니다",
    "제 번호는{}이고요", "ARC {} 로 신청했어요",
]
CRN_TEMPLATES = [
    "법인등록번호 {} 입니다.", "법인번호: {}", "(주)한빛 법인등록번호는 {}이에요",
    "Corporate registration no. {}", "법인 등록번호 {} 로 조회",
]
BRN_TEMPLATES = [
    "사업자등록번호 {} 입니다.", "사업자번호: {}", "세금계산서 발행용 사업자 {}", "Business registration {}",
    "{} 으로 사업자 조회해 주세요",
]
DRIVER_TEMPLATES = [
    "운전면허번호 {} 입니다.", "면허번호: {}", "Driver's license no. {}", "렌터카 예약 면허 {}",
    "운전면허증 번호는{}이에요",
]
PASSPORT_TEMPLATES = [
    "여권번호 {} 입니다.", "Passport No. {}", "여권 번호는{}이에요", "passport: {} (만료 2030년)",
    "항공권 예약 여권 {} 로 했어요",
]
PHONE_TEMPLATES = [
    "연락처 {} 로 전화 주세요.", "전화번호는{}입니다", "Call me at {}.", "휴대폰: {}", "{} 으로 문자 주세요",
    "담당자 연락처({})", "사무실 {} / 내선 3", "tel: {}", "번호 남겨요 {}",
]
BANK_TEMPLATES = [
    "{} 계좌 {} 로 입금해 주세요.", "{} {} 예금주 김민수", "환불 계좌: {} {}", "{} account {}",
    "{} 계좌번호는{}입니다", "입금은 {} {}로 부탁드려요",
]
BANK_BARE_TEMPLATES = ["계좌번호 {} 로 송금했어요", "입금 계좌: {}", "bank account {} please", "이체할 계좌 {}"]
CARD_TEMPLATES = [
    "카드번호 {} 로 결제했어요.", "card number: {}", "결제 카드 {} 유효기간 12/27", "{} 카드 분실 신고합니다",
    "신용카드{}로 결제", "Visa {} exp 03/28",
]
EMAIL_TEMPLATES = [
    "메일 주소는 {}입니다.", "이메일: {}", "Contact {} for details.", "메일은{}로 보내주세요",
    "<{}>", "회신 주소({})", "cc: {}, thanks", "{} 으로 자료 부탁드립니다.",
]
IP_TEMPLATES = [
    "접속 IP {} 에서 로그인 시도가 있었습니다.", "서버 주소는 {}입니다", "ip={} blocked", "원격 접속 {}:8080",
    "Client IP: {}", "로그인 기록 {} (서울)", "{} 에서 접속했어요",
]

# ---------------------------------------------------------------------------
# positive builders


def pos_rrn():
    roll = RNG.random()
    if roll < 0.55:
        value = rrn_value("valid")
    elif roll < 0.8:
        value = rrn_value("random_era")
    else:
        value = rrn_value("changed")
    sep_roll = RNG.random()
    if roll >= 0.55 and sep_roll < 0.2:
        sep_roll = 0.5  # bare numbers without a check digit only next to a resident word
    sep = "-" if sep_roll < 0.6 else (" " if sep_roll < 0.75 else "")
    text = value[:6] + sep + value[6:]
    if RNG.random() < 0.12:
        text = to_fullwidth(text)
    template = RNG.choice(RRN_TEMPLATES)
    if sep == "" and roll >= 0.55:
        template = RNG.choice(RRN_TEMPLATES[:2])
    return fill(wrap(template), ("KR_RRN", text))


def pos_frn():
    value = frn_value()
    sep = RNG.choice(["-", "-", " ", ""])
    text = value[:6] + sep + value[6:]
    if RNG.random() < 0.1:
        text = to_fullwidth(text)
    return fill(wrap(RNG.choice(FRN_TEMPLATES)), ("KR_FRN", text))


def pos_crn():
    value = crn_value()
    sep = RNG.choice(["-", "-", "-", ""])
    return fill(wrap(RNG.choice(CRN_TEMPLATES)), ("KR_CRN", value[:6] + sep + value[6:]))


def pos_brn():
    value = brn_value()
    if RNG.random() < 0.2:
        return fill(wrap(RNG.choice(BRN_TEMPLATES[:3])), ("KR_BRN", value))
    text = value[:3] + "-" + value[3:5] + "-" + value[5:]
    if RNG.random() < 0.1:
        text = to_fullwidth(text)
    return fill(wrap(RNG.choice(BRN_TEMPLATES)), ("KR_BRN", text))


def pos_driver():
    roll = RNG.random()
    if roll < 0.15:
        area = RNG.choice(["서울", "부산", "경기", "강원", "충북", "전남", "경북", "제주", "대구"])
        number = "%02d" % RNG.randint(0, 99) + "-" + digits(6) + "-" + digits(2)
        return fill(wrap("운전면허 " + area + " {} 입니다"), ("KR_DRIVER_LICENSE", number))
    if roll < 0.3:
        return fill(wrap(RNG.choice(DRIVER_TEMPLATES[:3])), ("KR_DRIVER_LICENSE", driver_value("bare")))
    text = driver_value("sep")
    if RNG.random() < 0.1:
        text = to_fullwidth(text)
    if RNG.random() < 0.25:
        return fill(wrap("{} 이 번호 맞는지 봐주세요"), ("KR_DRIVER_LICENSE", text))
    return fill(wrap(RNG.choice(DRIVER_TEMPLATES)), ("KR_DRIVER_LICENSE", text))


def pos_passport():
    new_format = RNG.random() < 0.5
    value = passport_value(new_format)
    if new_format and RNG.random() < 0.3:
        return fill(wrap("예약자 확인번호 {} 입니다"), ("KR_PASSPORT", value))
    return fill(wrap(RNG.choice(PASSPORT_TEMPLATES)), ("KR_PASSPORT", value))


def pos_phone():
    text, _ = phone_value()
    if RNG.random() < 0.12:
        text = to_fullwidth(text)
    return fill(wrap(RNG.choice(PHONE_TEMPLATES)), ("KR_PHONE", text))


def pos_bank():
    if RNG.random() < 0.25:
        _, number = bank_value(hyphen=False)
        return fill(wrap(RNG.choice(BANK_BARE_TEMPLATES)), ("KR_BANK_ACCOUNT", number))
    name, number = bank_value()
    if RNG.random() < 0.1:
        number = to_fullwidth(number)
    return fill(wrap(RNG.choice(BANK_TEMPLATES)), name, ("KR_BANK_ACCOUNT", number))


def pos_card():
    text = card_value()
    if RNG.random() < 0.1:
        text = to_fullwidth(text)
    return fill(wrap(RNG.choice(CARD_TEMPLATES)), ("CREDIT_CARD", text))


def pos_email():
    return fill(wrap(RNG.choice(EMAIL_TEMPLATES)), ("EMAIL", email_value()))


def pos_ip():
    value = ipv6_value() if RNG.random() < 0.35 else ipv4_value()
    template = RNG.choice(IP_TEMPLATES)
    if ":" in value and "{}:" in template:
        template = template.replace("{}:", "[{}]:")  # an IPv6 with a port needs brackets
    return fill(wrap(template), ("IP_ADDRESS", value))


def pos_mixed():
    """Chat-like records with several entities and some traps."""
    rrn = rrn_value("valid")
    phone, _ = phone_value()
    email = email_value()
    name, account = bank_value()
    date = "2024-%02d-%02d" % (RNG.randint(1, 12), RNG.randint(1, 28))
    templates = [
        ("신청자 정보\n- 주민등록번호: {}\n- 연락처: {}\n- 이메일: {}\n- 신청일: {}",
         [("KR_RRN", rrn[:6] + "-" + rrn[6:]), ("KR_PHONE", phone), ("EMAIL", email), date]),
        ("{}에 주문하신 상품 환불은 {} 계좌 {}로 처리됩니다. 문의: {}",
         [date, name, ("KR_BANK_ACCOUNT", account), ("KR_PHONE", phone)]),
        ("Please update my profile: email {}, phone {}, joined {}.",
         [("EMAIL", email), ("KR_PHONE", phone), date]),
        ("{} 통화 기록: {} ({}분)", [date, ("KR_PHONE", phone), str(RNG.randint(1, 59))]),
        ("고객님({})의 연락처 {} 로 {} 발송했습니다. 총 {}원",
         [("EMAIL", email), ("KR_PHONE", phone), "인증번호 482913",
          "{:,}".format(RNG.randint(1000, 9999999))]),
    ]
    template, entities = RNG.choice(templates)
    return fill(template, *entities)


# ---------------------------------------------------------------------------
# hard negatives


def neg_case():
    makers = [
        lambda: "회의는 %d-%02d-%02d 오후 2시에 합니다." % (RNG.randint(2000, 2030), RNG.randint(1, 12),
                                                     RNG.randint(1, 28)),
        lambda: "%d.%02d.%02d 기준으로 정산했습니다" % (RNG.randint(2000, 2030), RNG.randint(1, 12),
                                               RNG.randint(1, 28)),
        lambda: "배송 예정일 %d/%02d/%02d %02d:%02d:%02d" % (RNG.randint(2020, 2026), RNG.randint(1, 12),
                                                     RNG.randint(1, 28), RNG.randint(0, 23),
                                                     RNG.randint(0, 59), RNG.randint(0, 59)),
        lambda: "%02d.%02d.%02d 에 만나요" % (RNG.randint(20, 26), RNG.randint(1, 12), RNG.randint(1, 28)),
        lambda: "총 결제 금액은 {:,}원입니다.".format(RNG.randint(1000000, 999999999)),
        lambda: "가격: ₩{:,} (VAT 포함)".format(RNG.randint(10000, 99999999)),
        lambda: "예산 {:,}원 중 {:,}원 집행".format(RNG.randint(10 ** 9, 10 ** 11), RNG.randint(10 ** 6, 10 ** 9)),
        lambda: "주문번호 %s%02d%02d%s 배송 조회 부탁드려요" % (RNG.randint(2020, 2025), RNG.randint(1, 12),
                                                     RNG.randint(1, 28), digits(8)),
        lambda: "Order #%d%s has shipped." % (RNG.randint(2020, 2025), digits(RNG.randint(10, 14))),
        lambda: "운송장 번호 %s 로 조회하세요" % tracking_number(),
        lambda: "송장번호: %s (CJ대한통운)" % tracking_number(),
        lambda: "v%d.%d.%d.%d 버전으로 업데이트했어요" % tuple(RNG.randint(0, 20) for _ in range(4)),
        lambda: "version %d.%d.%d.%d released" % tuple(RNG.randint(0, 20) for _ in range(4)),
        lambda: "버전 %d.%d.%d.%d 에서 버그 수정" % tuple(RNG.randint(0, 20) for _ in range(4)),
        lambda: "Chrome %d.0.%d.%d 사용 중" % (RNG.randint(100, 130), RNG.randint(1000, 9999), RNG.randint(10, 300)),
        lambda: "빌드 번호 %d.%d.%d.%d.%d" % tuple(RNG.randint(0, 99) for _ in range(5)),
        lambda: "난수: %s" % digits(RNG.randint(20, 40)),
        lambda: "트랜잭션 해시 %s 확인" % digits(RNG.randint(24, 32)),
        lambda: "잘못된 번호 %s-%s-%s 입니다" % (RNG.choice(["020", "059", "069", "012", "013", "090", "047"]),
                                          nz_digits(RNG.choice([3, 4])), digits(4)),
        lambda: "카드번호 %s 는 유효하지 않아요" % card_luhn_fail(),
        lambda: "card %s declined" % group4(card_luhn_fail()),
        lambda: "주민번호 %s-%s 형식 오류" % (invalid_rrn_date(), RNG.choice("1234") + digits(6)),
        lambda: "사업자등록번호 %s 조회 결과 없음" % fmt_brn(brn_invalid()),
        lambda: "참조번호 %s-%s-%s 입니다" % (nz_digits(3), digits(3), digits(6)),
        lambda: "문의번호 %s 입니다" % nz_digits(RNG.randint(10, 12)),
        lambda: "IP %d.%d.%d.%d 는 잘못된 주소" % (RNG.randint(256, 999), RNG.randint(0, 255),
                                            RNG.randint(0, 255), RNG.randint(0, 255)),
        lambda: "시간 %02d:%02d:%02d 기준" % (RNG.randint(0, 23), RNG.randint(0, 59), RNG.randint(0, 59)),
        lambda: "MAC 00:1A:2B:%02X:%02X:%02X 장비" % (RNG.randint(0, 255), RNG.randint(0, 255),
                                                   RNG.randint(0, 255)),
        lambda: "C++에서 std::vector<int> 와 a::b::c 를 씁니다",
        lambda: "SKU%s 재고 있음" % digits(13),
        lambda: "모델번호 ABC%s-%s" % (digits(6), digits(7)),
        lambda: "제품코드 %s%s" % (RNG.choice("MSRODG"), digits(8)),
        lambda: "user@localhost 는 외부 메일이 아니에요",
        lambda: "@%s 님 확인 부탁해요" % RNG.choice(["minsu", "team", "dev_lead"]),
        lambda: "원주율은 3.14159265358979 입니다",
        lambda: "성장률 %d.%d%% 기록" % (RNG.randint(1, 30), RNG.randint(0, 9)),
        lambda: "%d년 %d월 %d일에 가입" % (RNG.randint(1990, 2024), RNG.randint(1, 12), RNG.randint(1, 28)),
        lambda: "대표번호 1588-%s 로 문의" % digits(4),
        lambda: "인증번호는 %s 입니다" % digits(6),
        lambda: "비밀번호 4자리 %s, 계좌 비밀번호 아님" % digits(4),
        lambda: "은행 영업시간은 09:00-16:00 입니다",
        lambda: "점수는 %d-%d 였어요" % (RNG.randint(0, 9), RNG.randint(0, 9)),
        lambda: "좌표 37.%s, 126.%s" % (digits(6), digits(6)),
        lambda: "ISBN 978-89-%s-%s-%s" % (digits(4), digits(4), digits(1)),
        lambda: "우편번호 %s" % digits(5),
        lambda: "전화번호가 %s-%s-%s%s 처럼 길면 아니에요" % ("010", nz_digits(4), digits(4), digits(2)),
        lambda: "계좌 개설일 %d-%02d-%02d" % (RNG.randint(2000, 2024), RNG.randint(1, 12), RNG.randint(1, 28)),
        lambda: "여권 사진 규격은 3.5x4.5cm 입니다",
        lambda: "hash=%s" % "".join(RNG.choice("0123456789abcdef") for _ in range(40)),
        lambda: "타임스탬프 %s 기준 로그" % epoch_ms(),
        lambda: "epoch ms %s" % epoch_ms(),
        lambda: "주문번호 %d-%02d%02d-%s-%s" % (RNG.randint(2020, 2025), RNG.randint(1, 12), RNG.randint(1, 28),
                                          digits(4), digits(4)),
        lambda: "연봉 %d원 협의" % RNG.randint(10 ** 9, 9 * 10 ** 9),
        lambda: "주민번호 앞자리 %s 만 알려드릴게요" % rrn_value("valid")[:6],
        lambda: "http://%d.%d.%d/admin 은 예시입니다" % (RNG.randint(1, 255), RNG.randint(0, 255), RNG.randint(0, 255)),
        lambda: "UUID %s-%s-%s-%s-%s" % tuple("".join(RNG.choice("0123456789abcdef") for _ in range(n))
                                          for n in (8, 4, 4, 4, 12)),
    ]
    return {"text": RNG.choice(makers)(), "findings": []}


def tracking_number():
    while True:
        value = nz_digits(RNG.choice([10, 11, 12, 13]))
        if not is_checksum_valid_rrn(value):
            return value


def epoch_ms():
    while True:
        value = str(RNG.randint(1600, 1760)) + digits(9)
        if not is_checksum_valid_rrn(value):
            return value


def group4(number):
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


def fmt_brn(value):
    return value[:3] + "-" + value[3:5] + "-" + value[5:]


def invalid_rrn_date():
    return RNG.choice(["%02d13%02d" % (RNG.randint(0, 99), RNG.randint(1, 28)),
                       "%02d0230" % RNG.randint(0, 99),
                       "%02d%02d32" % (RNG.randint(0, 99), RNG.randint(1, 12)),
                       "%02d00%02d" % (RNG.randint(0, 99), RNG.randint(1, 28))])


# ---------------------------------------------------------------------------


def main():
    out_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).with_name("corpus.jsonl")
    if len(sys.argv) > 2:
        RNG.seed(int(sys.argv[2]))
    plan = [
        (pos_rrn, 160), (pos_frn, 110), (pos_crn, 110), (pos_brn, 110), (pos_driver, 110),
        (pos_passport, 110), (pos_phone, 170), (pos_bank, 130), (pos_card, 140), (pos_email, 120),
        (pos_ip, 130), (pos_mixed, 80), (neg_case, 420),
    ]
    cases = [maker() for maker, count in plan for _ in range(count)]
    # Multi-sentence messages: context words of one sentence now sit next to the
    # numbers of another, as in real chat logs.
    singles = list(cases)
    for _ in range(300):
        case = Case()
        for i, part in enumerate(RNG.sample(singles, RNG.randint(2, 4))):
            if i:
                case.text(RNG.choice([" ", "\n", " / ", "\n\n", ". "]))
            base = case.length
            case.text(part["text"])
            case.findings.extend({"type": f["type"], "start": f["start"] + base, "end": f["end"] + base}
                                 for f in part["findings"])
        cases.append(case.render())
    RNG.shuffle(cases)
    with out_path.open("w", encoding="utf-8") as f:
        for case in cases:
            text_bytes = case["text"].encode("utf-8")
            for finding in case["findings"]:
                assert 0 <= finding["start"] < finding["end"] <= len(text_bytes)
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    print("wrote %d cases to %s" % (len(cases), out_path))


if __name__ == "__main__":
    main()
