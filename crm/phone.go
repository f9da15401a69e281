package crm

import (
	"context"
	"fmt"
	"strings"
)

// Call outcomes, from least to most final. A call only ever moves to a later one, so
// webhooks that arrive late or twice cannot move it back.
const (
	CallInProgress  = "in_progress"
	CallSelfService = "self_service" // the caller used the phone menu and hung up
	CallMissed      = "missed"       // nobody took the call and no voicemail was left
	CallAnswered    = "answered"
	CallVoicemail   = "voicemail"
)

// CallOutcomeRank orders call outcomes; unknown outcomes rank lowest.
func CallOutcomeRank(outcome string) int {
	switch outcome {
	case CallSelfService:
		return 1
	case CallMissed:
		return 2
	case CallAnswered:
		return 3
	case CallVoicemail:
		return 4
	}
	return 0
}

// PhoneCall is what is known about one phone call. Its voice message (external id =
// the call's CallSid) shows Text, rewritten each time the call changes.
type PhoneCall struct {
	InboxID   int64
	CallSid   string
	MessageID int64
	TicketID  int64
	Direction string // DirIn for a customer's call, DirOut for click-to-call
	Party     string // the customer's number, E.164
	Agent     string // who answered or placed the call
	Outcome   string
	Duration  int // seconds
	Notes     []string
}

// Text is the call's summary line followed by its notes, as the console shows it.
func (c *PhoneCall) Text() string {
	var b strings.Builder
	switch {
	case c.Direction == DirOut && c.Outcome == CallAnswered:
		fmt.Fprintf(&b, "Outgoing call to %s by %s, answered", c.Party, c.Agent)
	case c.Direction == DirOut && c.Outcome == CallInProgress:
		fmt.Fprintf(&b, "Outgoing call to %s by %s, in progress", c.Party, c.Agent)
	case c.Direction == DirOut:
		fmt.Fprintf(&b, "Outgoing call to %s by %s, not answered", c.Party, c.Agent)
	case c.Outcome == CallAnswered && c.Agent != "":
		fmt.Fprintf(&b, "Answered call from %s, taken at %s", c.Party, c.Agent)
	case c.Outcome == CallAnswered:
		fmt.Fprintf(&b, "Answered call from %s", c.Party)
	case c.Outcome == CallVoicemail:
		fmt.Fprintf(&b, "Voicemail from %s", c.Party)
	case c.Outcome == CallMissed:
		fmt.Fprintf(&b, "Missed call from %s", c.Party)
	case c.Outcome == CallSelfService:
		fmt.Fprintf(&b, "Call from %s, handled by the phone menu", c.Party)
	default:
		fmt.Fprintf(&b, "Incoming call from %s, in progress", c.Party)
	}
	if c.Duration > 0 {
		fmt.Fprintf(&b, " (%dm %02ds)", c.Duration/60, c.Duration%60)
	}
	for _, n := range c.Notes {
		b.WriteString("\n")
		b.WriteString(n)
	}
	return b.String()
}

// CallUpdate is news about a call from one webhook. Zero fields change nothing.
type CallUpdate struct {
	Direction   string // recorded when the call is first seen; default DirIn
	Party       string // recorded when the call is first seen
	Agent       string
	Outcome     string          // applied only when it ranks above the current outcome
	Duration    int             // the call's length in seconds, from its final status
	Ended       bool            // the call is over: one still in progress becomes missed
	Note        string          // appended unless the call already has it
	Attachments []NewAttachment // added unless the message already has the same content
}

// PhoneStore is what the phone channel keeps beyond Store. It is a separate interface so
// that Store stays the same for every channel; the phone channel type-asserts it.
type PhoneStore interface {
	// SetPhoneOptOut records that an E.164 number opted out of (true) or back into
	// (false) messages from an inbox. Returns invalid or not_found (unknown inbox).
	SetPhoneOptOut(ctx context.Context, inboxID int64, phone string, optedOut bool) error
	// PhoneOptedOut reports whether an E.164 number opted out of messages from an inbox.
	PhoneOptedOut(ctx context.Context, inboxID int64, phone string) (bool, error)
	// SetDeliveryStatus applies a delivery report to the outbound message of an inbox
	// with that external id and records a message.updated event when it changed. Status
	// only moves forward: queued < sent < delivered or failed; reason is kept for failed.
	// Returns invalid (unknown status) or not_found (no such message).
	SetDeliveryStatus(ctx context.Context, inboxID int64, externalID, status, reason string) (*Message, error)
	// UpdateCall applies u to the call of an inbox and rewrites the text of its voice
	// message (the message with external id callSid, filed before by Ingest), recording
	// a message.updated event when anything changed. Returns not_found when there is no
	// such message, or invalid.
	UpdateCall(ctx context.Context, inboxID int64, callSid string, u CallUpdate) (*PhoneCall, error)
}
