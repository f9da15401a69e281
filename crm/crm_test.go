package crm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"parley/crm"
)

func TestRoles(t *testing.T) {
	for _, tt := range []struct {
		role    string
		inboxes []int64
		inbox   int64
		all     bool
		sees    bool
	}{
		{crm.RoleAdmin, nil, 7, true, true},
		{crm.RoleManager, nil, 7, true, true},
		{crm.RoleAgent, []int64{3, 7}, 7, false, true},
		{crm.RoleAgent, []int64{3}, 7, false, false},
		{crm.RoleAgent, nil, 7, false, false},
		{"", []int64{7}, 7, false, true}, // no role: only its own inboxes
		{"owner", nil, 7, false, false},  // an unknown role grants nothing
	} {
		a := &crm.Agent{Role: tt.role, InboxIDs: tt.inboxes}
		if got := a.SeesAllInboxes(); got != tt.all {
			t.Errorf("%q SeesAllInboxes = %v, want %v", tt.role, got, tt.all)
		}
		if got := a.CanSeeInbox(tt.inbox); got != tt.sees {
			t.Errorf("%q in %v CanSeeInbox(%d) = %v, want %v", tt.role, tt.inboxes, tt.inbox, got, tt.sees)
		}
	}
}

func TestActing(t *testing.T) {
	bg := context.Background()
	agent := &crm.Agent{ID: 4, Role: crm.RoleAgent}
	admin := &crm.Agent{ID: 1, Role: crm.RoleAdmin}
	for _, tt := range []struct {
		name    string
		ctx     context.Context
		agent   *crm.Agent
		system  bool
		seesAll bool
	}{
		{"nobody", bg, nil, false, false},
		{"system", crm.AsSystem(bg), nil, true, true},
		{"agent", crm.WithAgent(bg, agent), agent, false, false},
		{"admin", crm.WithAgent(bg, admin), admin, false, true},
		{"agent inside system", crm.WithAgent(crm.AsSystem(bg), agent), agent, false, false},
		{"system inside agent", crm.AsSystem(crm.WithAgent(bg, agent)), nil, true, true},
		{"nil agent", crm.WithAgent(crm.AsSystem(bg), nil), nil, false, false},
	} {
		if got := crm.AgentFrom(tt.ctx); got != tt.agent {
			t.Errorf("%s: AgentFrom = %v, want %v", tt.name, got, tt.agent)
		}
		if got := crm.IsSystem(tt.ctx); got != tt.system {
			t.Errorf("%s: IsSystem = %v, want %v", tt.name, got, tt.system)
		}
		if got := crm.SeesAll(tt.ctx); got != tt.seesAll {
			t.Errorf("%s: SeesAll = %v, want %v", tt.name, got, tt.seesAll)
		}
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := crm.Errorf(crm.ENOTFOUND, "ticket %d not found", 42)
	for _, tt := range []struct {
		name          string
		err           error
		code, message string
	}{
		{"nil", nil, "", ""},
		{"crm error", notFound, crm.ENOTFOUND, "ticket 42 not found"},
		{"wrapped", fmt.Errorf("load ticket: %w", notFound), crm.ENOTFOUND, "ticket 42 not found"},
		{"joined", errors.Join(errors.New("other"), notFound), crm.ENOTFOUND, "ticket 42 not found"},
		{"plain error", errors.New("disk I/O error at /var/lib/parley"), crm.EINTERNAL, "internal error"},
		{"wrapped plain", fmt.Errorf("save: %w", errors.New("secret detail")), crm.EINTERNAL, "internal error"},
	} {
		if got := crm.ErrorCode(tt.err); got != tt.code {
			t.Errorf("%s: ErrorCode = %q, want %q", tt.name, got, tt.code)
		}
		if got := crm.ErrorMessage(tt.err); got != tt.message {
			t.Errorf("%s: ErrorMessage = %q, want %q", tt.name, got, tt.message)
		}
	}
	if got, want := notFound.Error(), "not_found: ticket 42 not found"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAPITokenExpired(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	for _, tt := range []struct {
		name    string
		expires *time.Time
		want    bool
	}{
		{"never", nil, false},
		{"later", at(time.Second), false},
		{"at this instant", at(0), true},
		{"earlier", at(-time.Hour), true},
	} {
		if got := (&crm.APIToken{ExpiresAt: tt.expires}).Expired(now); got != tt.want {
			t.Errorf("%s: Expired = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReplyAddress(t *testing.T) {
	customer := &crm.Customer{Identities: []crm.Identity{
		{Kind: crm.IdentityEmail, Address: "first@x.example"},
		{Kind: crm.IdentityPhone, Address: "+14155550100"},
		{Kind: crm.IdentityEmail, Address: "second@x.example"},
	}}
	for _, tt := range []struct {
		name     string
		replyTo  []crm.Identity
		customer *crm.Customer
		kind     string
		want     string
	}{
		{"latest of the ticket", []crm.Identity{{Kind: crm.IdentityEmail, Address: "latest@x.example"},
			{Kind: crm.IdentityEmail, Address: "older@x.example"}}, customer, crm.IdentityEmail, "latest@x.example"},
		{"ticket has another kind only", []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550199"}},
			customer, crm.IdentityEmail, "first@x.example"},
		{"customer's first of the kind", nil, customer, crm.IdentityEmail, "first@x.example"},
		{"customer's phone", nil, customer, crm.IdentityPhone, "+14155550100"},
		{"kind nowhere", nil, customer, crm.IdentityDiscord, ""},
		{"no customer", nil, nil, crm.IdentityEmail, ""},
	} {
		o := &crm.Outbound{ReplyTo: tt.replyTo, Customer: tt.customer}
		if got := o.ReplyAddress(tt.kind); got != tt.want {
			t.Errorf("%s: ReplyAddress(%q) = %q, want %q", tt.name, tt.kind, got, tt.want)
		}
	}
}

func TestStaleOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name        string
		sent, saved time.Time
		noSaved     bool
		want        bool
	}{
		{"older version", t0, t0.Add(time.Minute), false, true},
		{"same version again", t0, t0, false, false},
		{"newer version", t0.Add(time.Minute), t0, false, false},
		{"sent without a version", time.Time{}, t0, false, false},
		{"nothing stored", t0, time.Time{}, true, false},
	} {
		sent := &crm.Order{UpdatedAt: tt.sent}
		saved := &crm.Order{UpdatedAt: tt.saved}
		if tt.noSaved {
			saved = nil
		}
		if got := crm.StaleOrder(sent, saved); got != tt.want {
			t.Errorf("%s: StaleOrder = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCurrencyExponent(t *testing.T) {
	for _, tt := range []struct {
		code string
		exp  int
		ok   bool
	}{
		{"USD", 2, true}, {"EUR", 2, true}, {"JPY", 0, true}, {"KWD", 3, true},
		{"usd", 0, false}, {"XYZ", 0, false}, {"", 0, false},
	} {
		exp, ok := crm.CurrencyExponent(tt.code)
		if exp != tt.exp || ok != tt.ok {
			t.Errorf("CurrencyExponent(%q) = %d, %v, want %d, %v", tt.code, exp, ok, tt.exp, tt.ok)
		}
	}
}

func TestCallOutcomeRank(t *testing.T) {
	order := []string{crm.CallInProgress, crm.CallSelfService, crm.CallMissed, crm.CallAnswered, crm.CallVoicemail}
	for i := 1; i < len(order); i++ {
		if crm.CallOutcomeRank(order[i-1]) >= crm.CallOutcomeRank(order[i]) {
			t.Errorf("%s does not rank below %s", order[i-1], order[i])
		}
	}
	if got := crm.CallOutcomeRank("exploded"); got != 0 {
		t.Errorf("an unknown outcome ranks %d, want 0 (lowest)", got)
	}
}

func TestPhoneCallText(t *testing.T) {
	for _, tt := range []struct {
		name string
		call crm.PhoneCall
		want string
	}{
		{"ringing", crm.PhoneCall{Party: "+14155550100", Outcome: crm.CallInProgress}, "Incoming call from +14155550100, in progress"},
		{"answered by", crm.PhoneCall{Party: "+14155550100", Outcome: crm.CallAnswered, Agent: "+14155550199", Duration: 125},
			"Answered call from +14155550100, taken at +14155550199 (2m 05s)"},
		{"answered", crm.PhoneCall{Party: "+14155550100", Outcome: crm.CallAnswered}, "Answered call from +14155550100"},
		{"voicemail with notes", crm.PhoneCall{Party: "+14155550100", Outcome: crm.CallVoicemail, Duration: 9,
			Notes: []string{"Recording: attached", "Transcript: call me back"}},
			"Voicemail from +14155550100 (0m 09s)\nRecording: attached\nTranscript: call me back"},
		{"missed", crm.PhoneCall{Party: "+14155550100", Outcome: crm.CallMissed}, "Missed call from +14155550100"},
		{"menu", crm.PhoneCall{Party: "+14155550100", Outcome: crm.CallSelfService}, "Call from +14155550100, handled by the phone menu"},
		{"outgoing answered", crm.PhoneCall{Direction: crm.DirOut, Party: "+14155550100", Agent: "Dana", Outcome: crm.CallAnswered, Duration: 60},
			"Outgoing call to +14155550100 by Dana, answered (1m 00s)"},
		{"outgoing ringing", crm.PhoneCall{Direction: crm.DirOut, Party: "+14155550100", Agent: "Dana", Outcome: crm.CallInProgress},
			"Outgoing call to +14155550100 by Dana, in progress"},
		{"outgoing missed", crm.PhoneCall{Direction: crm.DirOut, Party: "+14155550100", Agent: "Dana", Outcome: crm.CallMissed},
			"Outgoing call to +14155550100 by Dana, not answered"},
	} {
		if got := tt.call.Text(); got != tt.want {
			t.Errorf("%s: Text() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestChatThreadKey(t *testing.T) {
	if got := crm.ChatThreadKey("v_abc"); got != "chat:v_abc" {
		t.Errorf("ChatThreadKey = %q", got)
	}
}

// TestBus checks the in-process bus: every subscriber gets each event, a full buffer
// drops events for that subscriber alone and says so once, and a closed subscription
// gets nothing more.
func TestBus(t *testing.T) {
	bus := crm.NewBus()
	fast, slow := bus.Subscribe(4), bus.Subscribe(1)
	bus.Publish(&crm.Event{ID: 1}, &crm.Event{ID: 2})
	for _, want := range []int64{1, 2} {
		if e := <-fast.C; e.ID != want {
			t.Fatalf("fast got event %d, want %d", e.ID, want)
		}
	}
	if fast.Lagged() {
		t.Error("a subscriber with room lagged")
	}
	if e := <-slow.C; e.ID != 1 {
		t.Fatalf("slow got event %d, want 1", e.ID)
	}
	if !slow.Lagged() {
		t.Error("a subscriber whose buffer was full did not lag")
	}
	if slow.Lagged() {
		t.Error("Lagged did not clear")
	}
	slow.Close()
	slow.Close() // twice is harmless
	bus.Publish(&crm.Event{ID: 3})
	if _, open := <-slow.C; open {
		t.Error("a closed subscription still receives")
	}
	if e := <-fast.C; e.ID != 3 {
		t.Errorf("fast got event %d after the other closed, want 3", e.ID)
	}
}
