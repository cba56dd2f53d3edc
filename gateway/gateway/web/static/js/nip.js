// NIP (Polish tax id) as the users service checks it: 10 ASCII digits, single spaces or dashes between
// them allowed, not all zeros, weighted checksum (6,5,7,2,3,4,5,6,7) mod 11 equal to the last digit.
const WEIGHTS = [6, 5, 7, 2, 3, 4, 5, 6, 7];
const SHAPE = /^[0-9](?:[ -]?[0-9])*$/;

// -> {ok: true, digits} | {ok: false, problem: "chars"|"length"|"checksum"|"partial"}
export function checkNip(value) {
  const text = String(value || "").trim();
  if (!text) return {ok: false, problem: "empty"};
  if (!/^[0-9 -]*$/.test(text)) return {ok: false, problem: "chars"};
  const digits = text.replace(/[ -]/g, "");
  if (digits.length > 10) return {ok: false, problem: "length"};
  if (digits.length < 10) return {ok: false, problem: "partial"};
  if (!SHAPE.test(text)) return {ok: false, problem: "chars"};
  if (/^0+$/.test(digits)) return {ok: false, problem: "checksum"};
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(digits[i]), 0) % 11;
  if (sum !== Number(digits[9])) return {ok: false, problem: "checksum"};
  return {ok: true, digits};
}
