package postgres

import (
	"context"
	"fmt"

	"parley/crm"
)

// SaveDiscordChannel records that a message up to messageID was handled in a Discord
// channel of an inbox: kind is "dm", "thread" or "support". The stored id only moves
// forward, so a late or repeated call never makes the bot skip messages. The Discord
// channel reads these rows to back-fill what it missed while disconnected. Returns
// invalid for ids that are not Discord snowflakes or an unknown kind.
func (db *DB) SaveDiscordChannel(ctx context.Context, inboxID int64, channelID, kind, messageID string) error {
	if !crm.IsSnowflake(channelID) || !crm.IsSnowflake(messageID) {
		return crm.Errorf(crm.EINVALID, "discord channel and message ids must be snowflakes")
	}
	if kind != "dm" && kind != "thread" && kind != "support" {
		return crm.Errorf(crm.EINVALID, "unknown discord channel kind %q", kind)
	}
	return db.update(ctx, func(tx *Tx) error {
		// Snowflakes are compared as numbers: by length first, then digit by digit.
		_, err := tx.ExecContext(ctx, `INSERT INTO discord_channels AS d (inbox_id, channel_id, kind, last_message_id, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (inbox_id, channel_id) DO UPDATE SET kind = excluded.kind,
			updated_at = excluded.updated_at,
			last_message_id = CASE WHEN length(excluded.last_message_id) > length(d.last_message_id)
				OR (length(excluded.last_message_id) = length(d.last_message_id)
					AND excluded.last_message_id COLLATE "C" > d.last_message_id)
				THEN excluded.last_message_id ELSE d.last_message_id END`,
			inboxID, channelID, kind, messageID, ms(tx.now))
		if err != nil {
			return fmt.Errorf("save discord channel: %w", err)
		}
		return nil
	})
}

// DiscordChannels calls fn for up to limit Discord channels of an inbox, with the newest
// message id handled in each: support channels first (there are few, and one missing
// here would look new to the bot), then the most recently active. fn runs after the rows
// are read, so it may call the store (or Discord) itself.
func (db *DB) DiscordChannels(ctx context.Context, inboxID int64, limit int, fn func(channelID, kind, lastMessageID string)) error {
	rows, err := db.rdb().QueryContext(ctx, `SELECT channel_id, kind, last_message_id FROM discord_channels
		WHERE inbox_id = ? ORDER BY kind = 'support' DESC, updated_at DESC, channel_id COLLATE "C" LIMIT ?`, inboxID, limit)
	if err != nil {
		return fmt.Errorf("list discord channels: %w", err)
	}
	defer rows.Close()
	var list [][3]string
	for rows.Next() {
		var r [3]string
		if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
			return fmt.Errorf("scan discord channel: %w", err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list discord channels: %w", err)
	}
	rows.Close()
	for _, r := range list {
		fn(r[0], r[1], r[2])
	}
	return nil
}
