package main

import "time"

// scale sets how much every part of the bench does. Every loop stops at its count or
// its time limit, whichever comes first, so a slow machine finishes too.
type scale struct {
	Name string

	IngestMsgs  int // inbound messages through the API, half to existing threads
	IngestLimit time.Duration
	IngestConc  int

	FanoutSockets []int // agent sockets per fanout run; the figures exist for 100 and 1,000
	FanoutSamples int

	WidgetChats  int // new chats: hello, welcome, message, ack
	WidgetLimit  time.Duration
	IdleSockets  int // idle widget sockets for the memory figure
	WidgetConc   int
	EmailMsgs    int
	EmailLimit   time.Duration
	SMSHooks     int
	SMSLimit     time.Duration
	Tickets      int // filled directly for the reads
	Messages     int
	ThreadLen    int           // messages of the one thread the thread figure reads
	ReadTime     time.Duration // per read figure
	ReadConc     int
	SearchEach   int // queries of each kind
	SearchLimit  time.Duration
	ReportRepeat int
	CatchUpLimit time.Duration // for the reports service to read the filled event log
}

var scales = map[string]scale{
	// tiny is the test's scale: a few seconds, every code path, little data.
	"tiny": {Name: "tiny",
		IngestMsgs: 200, IngestLimit: 10 * time.Second, IngestConc: 32,
		FanoutSockets: []int{100}, FanoutSamples: 5,
		WidgetChats: 40, WidgetLimit: 10 * time.Second, IdleSockets: 40, WidgetConc: 8,
		EmailMsgs: 10, EmailLimit: 20 * time.Second, SMSHooks: 40, SMSLimit: 10 * time.Second,
		Tickets: 300, Messages: 1000, ThreadLen: 50, ReadTime: 300 * time.Millisecond, ReadConc: 8,
		SearchEach: 10, SearchLimit: 5 * time.Second, ReportRepeat: 1, CatchUpLimit: 20 * time.Second},
	"small": {Name: "small",
		IngestMsgs: 3000, IngestLimit: 20 * time.Second, IngestConc: 32,
		FanoutSockets: []int{100, 1000}, FanoutSamples: 30,
		WidgetChats: 500, WidgetLimit: 15 * time.Second, IdleSockets: 500, WidgetConc: 32,
		EmailMsgs: 100, EmailLimit: 30 * time.Second, SMSHooks: 1500, SMSLimit: 15 * time.Second,
		Tickets: 10_000, Messages: 50_000, ThreadLen: 50, ReadTime: 2 * time.Second, ReadConc: 16,
		SearchEach: 100, SearchLimit: 15 * time.Second, ReportRepeat: 3, CatchUpLimit: time.Minute},
	"default": {Name: "default",
		IngestMsgs: 20_000, IngestLimit: 40 * time.Second, IngestConc: 32,
		FanoutSockets: []int{100, 1000}, FanoutSamples: 100,
		WidgetChats: 4000, WidgetLimit: 30 * time.Second, IdleSockets: 2000, WidgetConc: 32,
		EmailMsgs: 500, EmailLimit: 60 * time.Second, SMSHooks: 6000, SMSLimit: 30 * time.Second,
		Tickets: 100_000, Messages: 300_000, ThreadLen: 50, ReadTime: 5 * time.Second, ReadConc: 16,
		SearchEach: 200, SearchLimit: 30 * time.Second, ReportRepeat: 5, CatchUpLimit: 5 * time.Minute},
	"full": {Name: "full",
		IngestMsgs: 50_000, IngestLimit: 60 * time.Second, IngestConc: 32,
		FanoutSockets: []int{100, 1000}, FanoutSamples: 200,
		WidgetChats: 10_000, WidgetLimit: 60 * time.Second, IdleSockets: 10_000, WidgetConc: 32,
		EmailMsgs: 1000, EmailLimit: 120 * time.Second, SMSHooks: 15_000, SMSLimit: 60 * time.Second,
		Tickets: 100_000, Messages: 1_000_000, ThreadLen: 50, ReadTime: 10 * time.Second, ReadConc: 16,
		SearchEach: 500, SearchLimit: 60 * time.Second, ReportRepeat: 5, CatchUpLimit: 15 * time.Minute},
}
