// Package identity turns the addresses customers write to Parley from into the canonical
// form the store keys identities by: an email address lower-cased, a phone number in
// E.164. It wraps github.com/nyaruka/phonenumbers.
package identity

import (
	"net/mail"
	"strings"

	"parley/crm"

	"github.com/nyaruka/phonenumbers"
)

// Normalize returns the canonical address of an identity of kind (crm.IdentityEmail and
// the other crm.Identity kinds): an email lower-cased and checked, a phone number in
// E.164 (parsed in defaultRegion when it has no country code, a "whatsapp:" prefix
// dropped), other ids checked for blanks and control characters. It returns invalid for
// an unusable address or an unknown kind.
func Normalize(kind, address, defaultRegion string) (string, error) {
	address = strings.TrimSpace(address)
	if address == "" {
		return "", crm.Errorf(crm.EINVALID, "%s address is empty", kind)
	} else if len(address) > 320 {
		return "", crm.Errorf(crm.EINVALID, "%s address is too long", kind)
	}
	switch kind {
	case crm.IdentityEmail:
		a, err := mail.ParseAddress(address)
		if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
			return "", crm.Errorf(crm.EINVALID, "invalid email address %q", address)
		}
		return strings.ToLower(a.Address), nil
	case crm.IdentityPhone:
		address = strings.TrimPrefix(address, "whatsapp:")
		num, err := phonenumbers.Parse(address, defaultRegion)
		if err != nil || !phonenumbers.IsPossibleNumber(num) {
			return "", crm.Errorf(crm.EINVALID, "invalid phone number %q", address)
		}
		return phonenumbers.Format(num, phonenumbers.E164), nil
	case crm.IdentityDiscord, crm.IdentityChat, crm.IdentityShop:
		for _, r := range address {
			if r < 0x21 || r == 0x7f {
				return "", crm.Errorf(crm.EINVALID, "invalid %s id %q", kind, address)
			}
		}
		return address, nil
	}
	return "", crm.Errorf(crm.EINVALID, "unknown identity kind %q", kind)
}

// PremiumRate reports whether an E.164 number costs the caller more than a call: a
// premium-rate or shared-cost number, the target of toll fraud. A number that does not
// parse is not one.
func PremiumRate(e164 string) bool {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return false
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST:
		return true
	}
	return false
}
