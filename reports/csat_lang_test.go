package reports_test

import (
	"testing"
	"time"

	"parley/crm"
)

// TestCSAT_SMSInInboxLanguage: the survey text goes in the language the ticket's inbox
// is set to; an inbox without one asks in English.
func TestCSAT_SMSInInboxLanguage(t *testing.T) {
	f := newFixture(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	fr, err := f.db.CreateInbox(f.ctx, &crm.Inbox{Kind: crm.KindPhone, Name: "Téléphone", Config: map[string]any{"language": "fr"}})
	if err != nil {
		t.Fatal(err)
	}
	en := f.inbox(crm.KindPhone, "Phone")
	for _, c := range []struct {
		inbox *crm.Inbox
		from  string
		want  string
	}{
		{fr, "+33142868200", "Qu’avez-vous pensé de notre service\u00a0? Répondez par un chiffre de 1 (mauvais) à 5 (excellent)."},
		{en, "+15550002222", "How did we do? Reply with a number from 1 (bad) to 5 (great)."},
	} {
		id := f.ingest(c.inbox, crm.ChannelSMS, phone(c.from), "Où est mon colis ?").TicketID
		f.setStatus(id, crm.StatusResolved)
		if s := f.surveys(id); len(s) != 1 || s[0].Text != c.want {
			t.Errorf("%s: surveys %s, want %q", c.inbox.Name, jsonOf(s), c.want)
		}
	}
}
