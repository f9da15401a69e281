package orders

import (
	"strconv"
	"strings"

	"parley/crm"
)

// maxMinorDigits keeps parsed amounts far below the int64 limit: 15 digits of minor
// units is a trillion dollars.
const maxMinorDigits = 15

// ParseMoney converts a decimal amount as shops write it ("12.50", "1000", "0.125") to
// integer minor units of the currency (1250 cents, 1000 yen, 125 fils). It works on the
// string, never a float. Extra decimals are accepted only when they are zeros ("1000.00"
// yen). Returns invalid for a negative or malformed amount or an unknown currency.
func ParseMoney(s, currency string) (int64, error) {
	exp, ok := crm.CurrencyExponent(currency)
	if !ok {
		return 0, crm.Errorf(crm.EINVALID, "unknown currency %q", currency)
	}
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) || (strings.Contains(s, ".") && frac == "") {
		return 0, crm.Errorf(crm.EINVALID, "amount %q must be a decimal number like 12.50", cut(s, 40))
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, crm.Errorf(crm.EINVALID, "amount %q has more decimals than %s allows", cut(s, 40), currency)
		}
		frac = frac[:exp]
	}
	digits := strings.TrimLeft(whole+frac+strings.Repeat("0", exp-len(frac)), "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > maxMinorDigits {
		return 0, crm.Errorf(crm.EINVALID, "amount %q is too large", cut(s, 40))
	}
	return strconv.ParseInt(digits, 10, 64)
}

// FormatMoney writes minor units as the decimal string shops expect: 1250 USD is "12.50",
// 1000 JPY is "1000", 125 KWD is "0.125". An unknown currency is written with 2 decimals.
func FormatMoney(v int64, currency string) string {
	exp, ok := crm.CurrencyExponent(currency)
	if !ok {
		exp = 2
	}
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cut shortens s to n bytes for an error message.
func cut(s string, n int) string {
	if len(s) > n {
		return crm.CutBytes(s, n) + "..."
	}
	return s
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
