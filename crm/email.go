package crm

import "context"

// MailCheckpoint is how far the email channel has read an inbox's IMAP mailbox: the
// mailbox, its UIDVALIDITY and the highest UID whose message is committed.
type MailCheckpoint struct {
	Mailbox     string
	UIDValidity uint32
	LastUID     uint32
}

// MailStore is what the store keeps for the email channel alone: IMAP checkpoints and
// messages found by Message-ID.
type MailStore interface {
	// MailCheckpoint returns the checkpoint of an inbox, the zero value when it has none.
	MailCheckpoint(ctx context.Context, inboxID int64) (MailCheckpoint, error)
	// SetMailCheckpoint stores the checkpoint of an inbox. Returns not_found.
	SetMailCheckpoint(ctx context.Context, inboxID int64, cp MailCheckpoint) error
	// MessageByExternalID returns the message of an inbox with that external id, with its
	// attachments. Returns not_found.
	MessageByExternalID(ctx context.Context, inboxID int64, externalID string) (*Message, error)
}
