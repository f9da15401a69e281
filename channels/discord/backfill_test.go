package discord

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"parley/crm"
)

const (
	dmChannel     = "300000000000000001" // the channel of dmMessage
	otherCustomer = "400000000000000002"
)

// ticketByText returns the inbox's ticket whose first message has text, or nil.
func (e *env) ticketByText(text string) *crm.Ticket {
	e.t.Helper()
	for _, t := range e.tickets() {
		if msgs := e.messages(t.ID); len(msgs) > 0 && msgs[0].Text == text {
			return t
		}
	}
	return nil
}

func (e *env) texts(ticketID int64) []string {
	e.t.Helper()
	var out []string
	for _, m := range e.messages(ticketID) {
		out = append(out, m.Text)
	}
	return out
}

// goAway cuts the gateway connection and keeps the bot out until back is called. With
// expire, Discord also forgets the session, so the bot comes back with a fresh Identify.
func (e *env) goAway(expire bool) (back func()) {
	e.fake.setDown(true)
	if expire {
		e.fake.expireSession()
	}
	e.fake.drop()
	waitFor(e.t, "bot disconnected", func() bool {
		st := e.ch.InboxStatus(e.inbox.ID)
		return st != nil && st.State != "connected"
	})
	return func() {
		e.fake.setDown(false)
		e.waitConnected(e.inbox.ID)
	}
}

func TestBackfillAfterFreshIdentify(t *testing.T) {
	e := newEnv(t)
	// Live traffic first: a DM, and a support-channel question that gets a thread.
	e.fake.post(dmMessage(nextMsgID(), customerID, "hello from a DM"))
	question := nextMsgID()
	e.fake.post(guildMessage(question, supportChannel, otherCustomer, "my code is expired"))
	waitFor(t, "live messages filed", func() bool {
		_, threads, _ := e.fake.snapshot()
		return len(e.tickets()) == 2 && len(threads) == 1
	})
	dm, thread := e.ticketByText("hello from a DM"), e.ticketByText("my code is expired")
	if dm == nil || thread == nil {
		t.Fatalf("tickets = %+v", e.tickets())
	}

	// Parley is away long enough for Discord to drop the session. Customers keep writing:
	// many DMs (more than one page of history), a follow-up in the thread and a new
	// question in the support channel.
	back := e.goAway(true)
	var missed []string
	for i := range 130 {
		missed = append(missed, fmt.Sprintf("missed DM %d", i))
		e.fake.post(dmMessage(nextMsgID(), customerID, missed[i]))
	}
	e.fake.post(guildMessage(nextMsgID(), question, otherCustomer, "any news on my code?"))
	newQuestion := nextMsgID()
	e.fake.post(guildMessage(newQuestion, supportChannel, "400000000000000003", "where is my parcel?"))
	e.fake.post(guildMessage(nextMsgID(), generalChannel, customerID, "chat in #general is not support"))
	back()

	waitFor(t, "missed messages filed", func() bool {
		return len(e.messages(dm.ID)) == 131 && len(e.messages(thread.ID)) == 2 && e.ticketByText("where is my parcel?") != nil
	})
	identifies, resumes, _ := e.fake.counts()
	if identifies != 2 || resumes != 0 {
		t.Errorf("identifies = %d, resumes = %d, want a fresh identify", identifies, resumes)
	}
	if got, want := strings.Join(e.texts(dm.ID)[1:], "|"), strings.Join(missed, "|"); got != want {
		t.Errorf("missed DMs are not filed oldest first:\n got %.200s\nwant %.200s", got, want)
	}
	if got := e.texts(thread.ID); got[1] != "any news on my code?" {
		t.Errorf("thread ticket = %q", got)
	}
	// The new question got its thread, like a live one.
	waitFor(t, "thread for the missed question", func() bool {
		_, threads, _ := e.fake.snapshot()
		return len(threads) == 2 && threads[1].MessageID == newQuestion
	})

	// Another fresh session reads the same history again: nothing is filed twice.
	back = e.goAway(true)
	back()
	e.fake.post(dmMessage(nextMsgID(), customerID, "sentinel after the second identify"))
	waitFor(t, "sentinel", func() bool { return len(e.messages(dm.ID)) == 132 })
	if n := len(e.tickets()); n != 3 {
		t.Errorf("tickets = %d, want 3", n)
	}
	if n := len(e.messages(thread.ID)); n != 2 {
		t.Errorf("thread ticket has %d messages, want 2", n)
	}
	if _, threads, _ := e.fake.snapshot(); len(threads) != 2 {
		t.Errorf("threads = %d, want 2", len(threads))
	}
}

func TestNoBackfillAfterResume(t *testing.T) {
	e := newEnv(t)
	e.fake.post(dmMessage(nextMsgID(), customerID, "first"))
	e.waitMessages(1)
	_, _, before := e.fake.counts()
	back := e.goAway(false)
	back()
	e.fake.post(dmMessage(nextMsgID(), customerID, "second"))
	e.waitMessages(2)
	identifies, resumes, after := e.fake.counts()
	if identifies != 1 || resumes != 1 {
		t.Errorf("identifies = %d, resumes = %d, want the session resumed", identifies, resumes)
	}
	if after != before {
		t.Errorf("history read %d times after a resume, want none: Discord replays a resumed session", after-before)
	}
}

func TestSaveDiscordChannelOnlyMovesForward(t *testing.T) {
	e := newEnv(t)
	ctx := crm.AsSystem(context.Background())
	for _, id := range []string{"99", "700000000000000005", "700000000000000003", "8"} {
		if err := e.db.SaveDiscordChannel(ctx, e.inbox.ID, dmChannel, kindDM, id); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	e.db.DiscordChannels(ctx, e.inbox.ID, 10, func(id, kind, last string) {
		if id == dmChannel {
			got = append(got, kind, last)
		}
	})
	if strings.Join(got, " ") != "dm 700000000000000005" {
		t.Errorf("stored = %q, want the newest id", got)
	}
	for _, bad := range [][2]string{{"x1", "1"}, {dmChannel, "1; DROP"}, {dmChannel, ""}} {
		if err := e.db.SaveDiscordChannel(ctx, e.inbox.ID, bad[0], kindDM, bad[1]); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("SaveDiscordChannel(%q, %q) = %v, want invalid", bad[0], bad[1], err)
		}
	}
	if err := e.db.SaveDiscordChannel(ctx, e.inbox.ID, dmChannel, "guild", "1"); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestCompareIDs(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"9", "10", -1},
		{"700000000000000002", "700000000000000010", -1},
		{"1000000000000000000", "999999999999999999", 1},
		{"5", "5", 0},
	}
	for _, tt := range tests {
		if got := compareIDs(tt.a, tt.b); got != tt.want {
			t.Errorf("compareIDs(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
