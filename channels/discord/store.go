package discord

import (
	"context"

	"parley/crm"
)

// Store is what the Discord channel needs of the store: *sqlite.DB serves it, as cmd/parley
// checks at compile time.
type Store interface {
	Customer(ctx context.Context, id int64) (*crm.Customer, error)
	Inbox(ctx context.Context, id int64) (*crm.Inbox, error)
	Inboxes(ctx context.Context) ([]*crm.Inbox, error)
	Ingest(ctx context.Context, in *crm.Inbound) (*crm.IngestResult, error)
	// MessageByExternalID finds a message by its Discord id, to record edits and
	// deletions on the right ticket.
	MessageByExternalID(ctx context.Context, inboxID int64, externalID string) (*crm.Message, error)
	// TicketThreadKey addresses a reply: the channel or thread of the ticket.
	TicketThreadKey(ctx context.Context, ticketID int64) (string, error)
	// SaveDiscordChannel and DiscordChannels keep the channels an inbox filed messages
	// from, with the newest message id of each, to back-fill after a fresh session.
	SaveDiscordChannel(ctx context.Context, inboxID int64, channelID, kind, messageID string) error
	DiscordChannels(ctx context.Context, inboxID int64, limit int, fn func(channelID, kind, lastMessageID string)) error
}
