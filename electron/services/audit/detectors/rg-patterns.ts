/**
 * Ripgrep patterns that find (a superset of) what each built-in detector counts, for the benchmark's
 * "within 3x of rg with the same patterns" (issue 11 Targets). rg has no checksums, so it matches more
 * (bad Luhn, bad mod-97, dates as phones…); the detectors validate each candidate on top.
 * Use: rg --count-matches -e P1 -e P2 … FILES (policy patterns are added as they are).
 */
export const RG_PATTERNS: Readonly<Record<string, string>> = {
  email: String.raw`[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}`,
  phone: String.raw`(?:\+|\b0)\d[\d ().-]{6,18}\d\b|\(?\b[2-9]\d{2}\)?[ .-]?[2-9]\d{2}[ .-]\d{4}\b`,
  iban: String.raw`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`,
  'payment-card': String.raw`\b[1-9]\d{3}(?:[ -]?\d{2,6}){2,4}\b`,
  'us-ssn': String.raw`\b\d{3}[- ]\d{2}[- ]\d{4}\b`,
  'uk-nino': String.raw`\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b`,
};
