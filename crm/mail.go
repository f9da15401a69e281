package crm

import (
	"encoding/json"
	"net/mail"
	"strings"
)

// Limits of the mail fields of an inbound message.
const (
	// MaxParticipants is how many people a ticket keeps as participants; more are not
	// added.
	MaxParticipants  = 50
	maxMailAddresses = 200 // addresses of one mail kept for the thread
	maxAddressLen    = 320 // RFC 5321: 64 + 1 + 255
	maxNameLen       = 300
	maxContentHash   = 100
)

// CheckInboundMail checks the mail fields of an inbound message, whose external id may
// be at most maxID bytes. Returns invalid.
func CheckInboundMail(in *Inbound, maxID int) error {
	if len(in.ContentHash) > maxContentHash {
		return Errorf(EINVALID, "content hash is longer than %d bytes", maxContentHash)
	}
	if in.ContentHash != "" && len(in.ExternalID)+1+len(in.ContentHash) > maxID {
		return Errorf(EINVALID, "external id is too long to go with a content hash")
	}
	if len(in.Participants) > maxMailAddresses || len(in.Mail.To)+len(in.Mail.CC) > maxMailAddresses {
		return Errorf(EINVALID, "a message names at most %d addresses", maxMailAddresses)
	}
	if len(in.ClearTicketTags) > 20 {
		return Errorf(EINVALID, "a message clears at most 20 tags")
	}
	all := append(append(append([]Address{}, in.Participants...), in.Mail.To...), in.Mail.CC...)
	for _, a := range []*Address{in.Mail.From, in.Mail.Via} {
		if a != nil {
			all = append(all, *a)
		}
	}
	for _, a := range all {
		if a.Address == "" || len(a.Address) > maxAddressLen || len(a.Name) > maxNameLen {
			return Errorf(EINVALID, "invalid mail address %q", CutRunes(a.Address, 100))
		}
	}
	return nil
}

// SameInbound reports whether in repeats a stored message with its external id, which
// came from sender ("kind:address") and has the content hash hash: always when either
// has no content hash (other channels; messages filed before hashes were kept), else
// only from the same sender with the same content.
func SameInbound(in *Inbound, sender, hash string) bool {
	if in.ContentHash == "" || hash == "" {
		return true
	}
	return sender == in.From[0].Kind+":"+in.From[0].Address && hash == in.ContentHash
}

// ReusedID returns a copy of in filed under an external id of its own: in reuses the
// external id of another message (see Inbound.ContentHash).
func ReusedID(in *Inbound) *Inbound {
	cp := *in
	cp.ExternalID = in.ExternalID + "#" + in.ContentHash
	cp.FindReferrer = false // what references the id is about the other message
	return &cp
}

// MailJSON encodes the mail addresses of a message for the store, "" for none.
func MailJSON(a MailAddresses) string {
	if a.Empty() {
		return ""
	}
	b, _ := json.Marshal(a) // strings and slices of them always encode
	return string(b)
}

// ParticipantsJSON encodes a ticket's participants for the store, "" for none.
func ParticipantsJSON(list []Address) string {
	if len(list) == 0 {
		return ""
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// AddParticipants returns have with the addresses of add it lacks, except those for
// which skip returns true, up to MaxParticipants, and whether it added any. Addresses
// are compared without case.
func AddParticipants(have, add []Address, skip func(address string) bool) ([]Address, bool) {
	seen := make(map[string]bool, len(have))
	for _, a := range have {
		seen[strings.ToLower(a.Address)] = true
	}
	changed := false
	for _, a := range add {
		k := strings.ToLower(a.Address)
		if seen[k] || len(have) >= MaxParticipants || (skip != nil && skip(k)) {
			continue
		}
		seen[k] = true
		have = append(have, Address{Name: a.Name, Address: k})
		changed = true
	}
	return have, changed
}

// IsParticipant reports whether address is one of t's participants.
func IsParticipant(t *Ticket, address string) bool {
	for _, a := range t.Participants {
		if strings.EqualFold(a.Address, address) {
			return true
		}
	}
	return false
}

// JoinReferences returns the ids of chain and then those of own, each once, in their
// order: the References of a reply, from the chain the customer's mail carried and the
// thread's own messages.
func JoinReferences(chain, own []string) []string {
	seen := make(map[string]bool, len(chain)+len(own))
	out := make([]string, 0, len(chain)+len(own))
	for _, list := range [][]string{chain, own} {
		for _, id := range list {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// ParseCC reads the CC list of an agent's reply: addresses, with or without a display
// name, at most MaxParticipants, each once. Returns invalid.
func ParseCC(list []string) ([]Address, error) {
	if len(list) > MaxParticipants {
		return nil, Errorf(EINVALID, "cc has at most %d addresses", MaxParticipants)
	}
	out := make([]Address, 0, len(list))
	seen := map[string]bool{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		a, err := mail.ParseAddress(s)
		if err != nil || len(a.Address) > maxAddressLen || len(a.Name) > maxNameLen || !strings.Contains(a.Address, "@") ||
			strings.ContainsAny(a.Address, " \t\r\n\x00") {
			return nil, Errorf(EINVALID, "cc: %q is not an email address", CutRunes(s, 100))
		}
		k := strings.ToLower(a.Address)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, Address{Name: strings.TrimSpace(a.Name), Address: k})
	}
	return out, nil
}
