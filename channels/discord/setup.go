package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"parley/channels"
	"parley/crm"

	"github.com/bwmarrin/discordgo"
)

var (
	_ channels.InboxSetup      = (*Channel)(nil)
	_ channels.InboxStepTester = (*Channel)(nil)
)

// InvitePermissions are the permissions the bot's invite asks for: View Channels (1<<10),
// Read Message History (1<<16), Create Public Threads (1<<35) and Send Messages in
// Threads (1<<38).
const InvitePermissions = 1<<10 | 1<<16 | 1<<35 | 1<<38

// Application flags that say the Message Content intent is on: for bots in 100 servers or
// more (granted by Discord) and for smaller ones (the switch on the Bot page).
const (
	flagMessageContent        = 1 << 18
	flagMessageContentLimited = 1 << 19
)

// intentFix says how to turn the Message Content intent on.
const intentFix = "Open the application at https://discord.com/developers/applications, go to Bot, " +
	"turn on \"Message Content Intent\" under Privileged Gateway Intents and save. " +
	"Without it Discord refuses the bot's connection (code 4014)."

// Setup is what an admin sees of a Discord inbox's bot: who it is, the invite link, whether
// the Message Content intent is on, and the text channels of each server it is in, to
// pick support channels from.
type Setup struct {
	Bot            string       `json:"bot"`
	BotID          string       `json:"bot_id"`
	ApplicationID  string       `json:"application_id"`
	InviteURL      string       `json:"invite_url"`
	MessageContent bool         `json:"message_content_intent"`
	IntentFix      string       `json:"intent_fix,omitempty"`
	Guilds         []SetupGuild `json:"guilds"`
	Support        []string     `json:"support_channel_ids"`
	Missing        []string     `json:"missing_channel_ids"`
}

// SetupGuild is a server the bot is in, with the channels it can post in.
type SetupGuild struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Channels []SetupChannel `json:"channels"`
	Error    string         `json:"error,omitempty"`
}

// SetupChannel is a text or announcement channel of a server.
type SetupChannel struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Support bool   `json:"support"`
}

// inviteURL is the link that adds the application's bot to a server with the permissions
// it needs.
func inviteURL(appID string) string {
	return "https://discord.com/oauth2/authorize?" + url.Values{"client_id": {appID}, "scope": {"bot"},
		"permissions": {fmt.Sprint(InvitePermissions)}}.Encode()
}

// SetupInbox asks Discord, with the inbox's bot token, who the bot is, whether its
// application has the Message Content intent, and which servers and text channels it
// sees. Returns invalid when Discord refuses the token.
func (c *Channel) SetupInbox(ctx context.Context, in *crm.Inbox, publicURL string) (any, error) {
	cfg, err := parseConfig(in)
	if err != nil {
		return nil, err
	}
	s := c.newSession(cfg)
	opt := discordgo.WithContext(ctx)
	u, err := s.User("@me", opt)
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "discord rejected the bot token: %s", restMessage(err))
	}
	out := &Setup{Bot: u.Username, BotID: u.ID, ApplicationID: u.ID, Guilds: []SetupGuild{}, Missing: []string{}}
	if app, err := application(s, opt); err == nil {
		out.ApplicationID = app.ID
		out.MessageContent = app.Flags&(flagMessageContent|flagMessageContentLimited) != 0
	} else {
		return nil, crm.Errorf(crm.EINVALID, "discord did not show the bot's application: %s", restMessage(err))
	}
	if !out.MessageContent {
		out.IntentFix = intentFix
	}
	out.InviteURL = inviteURL(out.ApplicationID)
	guilds, err := s.UserGuilds(200, "", "", false, opt)
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "discord did not list the bot's servers: %s", restMessage(err))
	}
	seen := map[string]bool{}
	for _, g := range guilds {
		sg := SetupGuild{ID: g.ID, Name: g.Name, Channels: []SetupChannel{}}
		chans, err := s.GuildChannels(g.ID, opt)
		if err != nil {
			sg.Error = restMessage(err)
		}
		for _, ch := range chans {
			if ch.Type != discordgo.ChannelTypeGuildText && ch.Type != discordgo.ChannelTypeGuildNews {
				continue
			}
			sg.Channels = append(sg.Channels, SetupChannel{ID: ch.ID, Name: ch.Name, Support: cfg.channels[ch.ID]})
			seen[ch.ID] = true
		}
		sort.Slice(sg.Channels, func(i, j int) bool { return sg.Channels[i].Name < sg.Channels[j].Name })
		out.Guilds = append(out.Guilds, sg)
	}
	for id := range cfg.channels {
		out.Support = append(out.Support, id)
		if !seen[id] {
			out.Missing = append(out.Missing, id)
		}
	}
	sort.Strings(out.Support)
	sort.Strings(out.Missing)
	return out, nil
}

// TestInboxSteps checks a Discord inbox in steps: the bot token, the Message Content
// intent (with how to turn it on), the servers the bot is in (with the invite link when
// none), and that it can see every support channel.
func (c *Channel) TestInboxSteps(ctx context.Context, in *crm.Inbox) []channels.TestStep {
	cfg, err := parseConfig(in)
	if err != nil {
		return []channels.TestStep{{Step: "Settings", Detail: crm.ErrorMessage(err)}}
	}
	s := c.newSession(cfg)
	opt := discordgo.WithContext(ctx)
	u, err := s.User("@me", opt)
	if err != nil {
		return []channels.TestStep{{Step: "Bot token", Detail: "Discord refused the token: " + restMessage(err)}}
	}
	steps := []channels.TestStep{{Step: "Bot token", OK: true, Detail: "the token is the bot " + u.Username}}
	app, err := application(s, opt)
	if err != nil {
		return append(steps, channels.TestStep{Step: "Message Content intent", Detail: "the application could not be read: " + restMessage(err)})
	}
	if app.Flags&(flagMessageContent|flagMessageContentLimited) == 0 {
		return append(steps, channels.TestStep{Step: "Message Content intent", Detail: "it is off. " + intentFix})
	}
	steps = append(steps, channels.TestStep{Step: "Message Content intent", OK: true, Detail: "on"})
	guilds, err := s.UserGuilds(200, "", "", false, opt)
	if err != nil {
		return append(steps, channels.TestStep{Step: "Servers", Detail: "the bot's servers could not be listed: " + restMessage(err)})
	}
	if len(guilds) == 0 {
		return append(steps, channels.TestStep{Step: "Servers",
			Detail: "the bot is in no server yet: open " + inviteURL(app.ID) + " and pick your server"})
	}
	names := make([]string, len(guilds))
	for i, g := range guilds {
		names[i] = g.Name
	}
	steps = append(steps, channels.TestStep{Step: "Servers", OK: true, Detail: "the bot is in " + strings.Join(names, ", ")})
	if len(cfg.channels) == 0 {
		return append(steps, channels.TestStep{Step: "Support channels", OK: true, Detail: "none picked: the bot takes direct messages only"})
	}
	ids := make([]string, 0, len(cfg.channels))
	for id := range cfg.channels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var seen []string
	for _, id := range ids {
		ch, err := s.Channel(id, opt)
		if err != nil {
			return append(steps, channels.TestStep{Step: "Support channels",
				Detail: fmt.Sprintf("the bot cannot see channel %s: %s", id, restMessage(err))})
		}
		seen = append(seen, "#"+ch.Name)
	}
	return append(steps, channels.TestStep{Step: "Support channels", OK: true, Detail: "the bot sees " + strings.Join(seen, ", ")})
}

// application reads the bot's own application; discordgo's Application takes no context.
func application(s *discordgo.Session, opt discordgo.RequestOption) (*discordgo.Application, error) {
	b, err := s.Request("GET", discordgo.EndpointApplication("@me"), nil, opt)
	if err != nil {
		return nil, err
	}
	var app discordgo.Application
	if err := json.Unmarshal(b, &app); err != nil {
		return nil, fmt.Errorf("decode application: %w", err)
	}
	return &app, nil
}
