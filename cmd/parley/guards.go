package main

import (
	"parley/channels/chat"
	"parley/channels/discord"
	"parley/channels/email"
	"parley/channels/phone"
	"parley/crm"
	"parley/crm/sqlite"
	"parley/orders"
	"parley/reports"
	"parley/server"
)

// Each part declares the small interface it uses of the store, next to where it uses
// it; the store serves them all. A method a part needs and the store lacks is a compile
// error here, not a panic at start.
var (
	_ server.Store  = (*sqlite.DB)(nil)
	_ email.Store   = (*sqlite.DB)(nil)
	_ phone.Store   = (*sqlite.DB)(nil)
	_ chat.Store    = (*sqlite.DB)(nil)
	_ discord.Store = (*sqlite.DB)(nil)
	_ orders.Store  = (*sqlite.DB)(nil)
	_ reports.Store = (*sqlite.DB)(nil)
	_ crm.Outbox    = (*sqlite.DB)(nil) // the dispatcher's
)
