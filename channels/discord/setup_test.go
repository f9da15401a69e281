package discord_test

import (
	"context"
	"strings"
	"testing"

	"parley/channels"
	"parley/channels/discord"
	"parley/channels/discord/discordtest"
	"parley/crm"
	"parley/outbound"
)

const token = "MTAw.fake.token"

// TestSetupAndTestSteps: with a bot token, the setup answer names the bot, its invite link
// with the permissions it needs, the Message Content intent, and the text channels of each
// server it is in, the support ones marked; the connection test stops at the intent with
// how to turn it on, and at a server the bot is not in yet with the invite link.
func TestSetupAndTestSteps(t *testing.T) {
	f := discordtest.New(token)
	defer f.Close()
	ch := discord.New(nil, nil, discord.Options{Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: true})})
	ctx := crm.AsSystem(context.Background())
	in := &crm.Inbox{ID: 7, Kind: crm.KindDiscord, Config: map[string]any{"bot_token": token, "api_base_url": f.URL,
		"support_channel_ids": []any{"300000000000000002"}}}
	if err := ch.PrepareInbox(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.Secrets = map[string]string{"bot_token": token}
	delete(in.Config, "bot_token")

	last := func(steps []channels.TestStep) channels.TestStep { return steps[len(steps)-1] }
	steps := ch.TestInboxSteps(ctx, in)
	if l := last(steps); len(steps) != 3 || l.Step != "Servers" || l.OK ||
		!strings.Contains(l.Detail, "https://discord.com/oauth2/authorize?client_id="+discordtest.ApplicationID+"&permissions=309237711872&scope=bot") {
		t.Fatalf("a bot in no server: steps = %+v", steps)
	}
	f.AddGuild(discordtest.Guild{ID: "200000000000000001", Name: "Mugs and Co", Channels: []discordtest.Channel{
		{ID: "300000000000000001", Type: 0, Name: "general"}, {ID: "300000000000000002", Type: 0, Name: "help"},
		{ID: "300000000000000003", Type: 2, Name: "voice"}}})
	if steps := ch.TestInboxSteps(ctx, in); !last(steps).OK || len(steps) != 4 || last(steps).Detail != "the bot sees #help" {
		t.Fatalf("all set: steps = %+v", steps)
	}

	v, err := ch.SetupInbox(ctx, in, "http://desk.test")
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*discord.Setup)
	if s.Bot != discordtest.BotName || !s.MessageContent || s.IntentFix != "" || len(s.Guilds) != 1 ||
		len(s.Guilds[0].Channels) != 2 || s.Guilds[0].Channels[0].Name != "general" || s.Guilds[0].Channels[0].Support ||
		!s.Guilds[0].Channels[1].Support || len(s.Missing) != 0 {
		t.Fatalf("setup = %+v", s)
	}

	f.SetMessageContent(false)
	steps = ch.TestInboxSteps(ctx, in)
	if l := last(steps); l.Step != "Message Content intent" || l.OK || !strings.Contains(l.Detail, "Privileged Gateway Intents") {
		t.Fatalf("intent off: steps = %+v", steps)
	}
	if v, _ := ch.SetupInbox(ctx, in, ""); v.(*discord.Setup).MessageContent || !strings.Contains(v.(*discord.Setup).IntentFix, "Message Content Intent") {
		t.Fatalf("setup with the intent off = %+v", v)
	}

	in.Secrets["bot_token"] = "wrong"
	if _, err := ch.SetupInbox(ctx, in, ""); crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(err.Error(), "rejected the bot token") {
		t.Fatalf("setup with a wrong token: %v", err)
	}
	if steps := ch.TestInboxSteps(ctx, in); len(steps) != 1 || steps[0].OK {
		t.Fatalf("test with a wrong token: %+v", steps)
	}
}
