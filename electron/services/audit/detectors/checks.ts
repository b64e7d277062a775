/**
 * Validation of candidates found by the scanner (builtin.ts): checksums and issuing rules. Pure functions on
 * digit arrays or a string range, so the scanner never builds a substring of a match.
 */

/** Luhn (ISO/IEC 7812-1) over `digits[0..n)`. */
export function luhnValid(digits: Uint8Array, n: number): boolean {
  let sum = 0;
  let double = false;
  for (let k = n - 1; k >= 0; k--) {
    let d = digits[k] ?? 0;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function prefix(digits: Uint8Array, len: number): number {
  let v = 0;
  for (let k = 0; k < len; k++) v = v * 10 + (digits[k] ?? 0);
  return v;
}

/**
 * Known issuer prefixes (IIN) and the lengths each scheme issues (ISO/IEC 7812; scheme rules as published by
 * the networks). A Luhn-valid number outside these ranges is not counted: it is more likely an ID.
 */
export function knownCardPrefix(digits: Uint8Array, n: number): boolean {
  const p1 = digits[0] ?? 0;
  const p2 = prefix(digits, 2);
  const p3 = prefix(digits, 3);
  const p4 = prefix(digits, 4);
  const p6 = prefix(digits, 6);
  const in16to19 = n >= 16 && n <= 19;
  if (p1 === 4) return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p4 >= 2200 && p4 <= 2204) return in16to19; // Mir
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p4 === 3095)
    return n >= 14 && n <= 19; // Diners
  if (p4 >= 3528 && p4 <= 3589) return in16to19; // JCB
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) return in16to19; // Discover
  if (p2 === 62 || p2 === 81) return in16to19; // UnionPay
  if (p4 === 5018 || p4 === 5020 || p4 === 5038 || p4 === 5893 || p4 === 6304 || (p4 >= 6759 && p4 <= 6763))
    return n >= 13 && n <= 19; // Maestro
  if (p2 === 60 || p2 === 82 || p3 === 508) return n === 16; // RuPay
  if (p4 === 9792) return n === 16; // Troy
  return false;
}

/**
 * US SSN rules (SSA, since the 2011 randomization): area not 000, 666 or 900–999; group not 00; serial not
 * 0000; and the two numbers the SSA voided after they were printed in advertisements.
 */
export function ssnValid(d: Uint8Array): boolean {
  const area = prefix(d, 3);
  const group = (d[3] ?? 0) * 10 + (d[4] ?? 0);
  const serial = (d[5] ?? 0) * 1000 + (d[6] ?? 0) * 100 + (d[7] ?? 0) * 10 + (d[8] ?? 0);
  if (area === 0 || area === 666 || area >= 900 || group === 0 || serial === 0) return false;
  if (area === 78 && group === 5 && serial === 1120) return false; // 078-05-1120 (Woolworth wallet)
  if (area === 219 && group === 9 && serial === 9999) return false; // 219-09-9999 (Social Security Board)
  return true;
}

/**
 * UK National Insurance number prefix rules (HMRC NIM39110): first letter not D, F, I, Q, U or V; second not
 * D, F, I, O, Q, U or V; and not the unused pairs BG, GB, KN, NK, NT, TN or ZZ. `a` and `b` are char codes.
 */
export function ninoPrefixValid(a: number, b: number): boolean {
  const bad1 = 'DFIQUV';
  const bad2 = 'DFIOQUV';
  if (bad1.includes(String.fromCharCode(a)) || bad2.includes(String.fromCharCode(b))) return false;
  const pair = String.fromCharCode(a, b);
  return !['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(pair);
}

/** IBAN length by country (SWIFT IBAN Registry). Keys are the two letters as one number: a*256+b. */
const IBAN_LENGTHS = new Map<number, number>();
for (const entry of (
  'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28 DZ26 ' +
  'EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 ' +
  'JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 ' +
  'OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 ' +
  'TR26 UA29 VA22 VG24 XK20 YE30'
).split(' ')) {
  IBAN_LENGTHS.set(entry.charCodeAt(0) * 256 + entry.charCodeAt(1), Number(entry.slice(2)));
}

export function ibanLength(a: number, b: number): number | undefined {
  return IBAN_LENGTHS.get(a * 256 + b);
}

/**
 * ISO 13616 check: the IBAN's characters (already collected as char codes, upper case letters and digits,
 * without spaces) rotated by four, letters as 10–35, taken mod 97, must give 1.
 */
export function ibanMod97(chars: Uint16Array, n: number): boolean {
  let rem = 0;
  for (let k = 0; k < n; k++) {
    const c = chars[(k + 4) % n] ?? 0;
    if (c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else rem = (rem * 100 + (c - 55)) % 97;
  }
  return rem === 1;
}
