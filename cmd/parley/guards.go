package main

import (
	"parley/assign"
	"parley/automation"
	"parley/channels/chat"
	"parley/channels/discord"
	"parley/channels/email"
	"parley/channels/phone"
	"parley/cluster"
	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/sqlite"
	"parley/notify"
	"parley/orders"
	"parley/reports"
	"parley/server"
)

// store is what the wiring needs of the store it opens: everything Parley keeps, what
// each part uses of it and the migrations it has applied. Both stores serve it: the
// command line picks one (see openStore) and wires the rest the same way.
type store interface {
	crm.Store // with the dispatcher's crm.Outbox, Backup and Close
	server.Store
	email.Store
	phone.Store
	chat.Store
	discord.Store
	orders.Store
	reports.Store
	automation.Store
	assign.Store
	notify.Store
	cluster.EventLog
	// Migrations lists the applied migration versions in order.
	Migrations() ([]string, error)
}

// Each part declares the small interface it uses of the store, next to where it uses
// it; each store serves them all. A method a part needs and a store lacks is a compile
// error here, not a panic at start.
var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)
