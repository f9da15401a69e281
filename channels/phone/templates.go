package phone

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"parley/crm"
)

// contentAPI is Twilio's Content API, where an account's WhatsApp templates live. An
// inbox whose api_base_url is not Twilio's (a test's fake) serves both APIs there.
const contentAPI = "https://content.twilio.com"

// Limits of listing templates: a few pages of the largest size Twilio serves, kept for
// templateTTL, so that opening WhatsApp tickets does not ask Twilio each time.
const (
	templatePageSize = 500
	templatePages    = 4
	templateTTL      = 10 * time.Minute
	maxTemplateBody  = 4 << 20 // bytes of one page
)

// templateCache keeps each inbox's approved templates for templateTTL.
type templateCache struct {
	mu sync.Mutex
	m  map[string]templateEntry // by inbox id and account sid
}

type templateEntry struct {
	list []crm.WhatsAppTemplate
	at   time.Time
}

func (c *Channel) contentBase(cfg *config) string {
	if cfg.APIBaseURL == twilioAPI {
		return contentAPI
	}
	return cfg.APIBaseURL
}

// WhatsAppTemplates lists the inbox's WhatsApp templates that WhatsApp approved, from
// Twilio's Content API (ContentAndApprovals), sorted by name, cached for ten minutes.
// Templates whose kind has no text body are left out. Returns invalid for an inbox
// that is not a phone inbox with a WhatsApp number, or when Twilio refuses.
func (c *Channel) WhatsAppTemplates(ctx context.Context, in *crm.Inbox) ([]crm.WhatsAppTemplate, error) {
	cfg, err := c.parseConfig(in)
	if err != nil {
		return nil, err
	}
	if cfg.WhatsAppNumber == "" {
		return nil, crm.Errorf(crm.EINVALID, "inbox %d has no WhatsApp number", in.ID)
	}
	key := fmt.Sprintf("%d/%s", in.ID, cfg.AccountSID)
	now := c.opt.Now()
	c.templates.mu.Lock()
	e, ok := c.templates.m[key]
	c.templates.mu.Unlock()
	if ok && now.Sub(e.at) < templateTTL {
		return e.list, nil
	}
	list, err := c.fetchTemplates(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.templates.mu.Lock()
	if c.templates.m == nil {
		c.templates.m = map[string]templateEntry{}
	}
	c.templates.m[key] = templateEntry{list: list, at: now}
	c.templates.mu.Unlock()
	return list, nil
}

// contentPage is a page of GET /v1/ContentAndApprovals in Twilio's wire format.
type contentPage struct {
	Contents []struct {
		SID          string            `json:"sid"`
		FriendlyName string            `json:"friendly_name"`
		Language     string            `json:"language"`
		Variables    map[string]string `json:"variables"`
		Types        map[string]struct {
			Body string `json:"body"`
		} `json:"types"`
		Approval struct {
			Name     string `json:"name"`
			Category string `json:"category"`
			Status   string `json:"status"`
		} `json:"approval_requests"`
	} `json:"contents"`
	Meta struct {
		NextPageURL string `json:"next_page_url"`
	} `json:"meta"`
}

func (c *Channel) fetchTemplates(ctx context.Context, cfg *config) ([]crm.WhatsAppTemplate, error) {
	base := c.contentBase(cfg)
	next := base + "/v1/ContentAndApprovals?" + url.Values{"PageSize": {fmt.Sprint(templatePageSize)}}.Encode()
	hc := c.opt.Outbound.HTTPClient(30 * time.Second)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	list := []crm.WhatsAppTemplate{}
	for page := 0; next != "" && page < templatePages; page++ {
		// Twilio's next page is on its own host; anything else is not followed.
		if !strings.HasPrefix(next, base+"/") {
			break
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, fmt.Errorf("templates request: %w", err)
		}
		req.SetBasicAuth(cfg.AccountSID, cfg.AuthToken)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("list whatsapp templates: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxTemplateBody))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read whatsapp templates: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			var te struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			json.Unmarshal(body, &te)
			return nil, crm.Errorf(crm.EINVALID, "twilio refused to list the WhatsApp templates (HTTP %d): error %d: %s",
				resp.StatusCode, te.Code, crm.CutRunes(te.Message, 200))
		}
		var p contentPage
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("whatsapp templates answer: %w", err)
		}
		for _, ct := range p.Contents {
			if !strings.EqualFold(ct.Approval.Status, "approved") {
				continue
			}
			body := ""
			for _, typ := range []string{"twilio/text", "twilio/media", "twilio/quick-reply", "twilio/call-to-action", "twilio/card"} {
				if b := ct.Types[typ].Body; b != "" {
					body = b
					break
				}
			}
			if body == "" {
				continue
			}
			name := ct.Approval.Name
			if name == "" {
				name = ct.FriendlyName
			}
			list = append(list, crm.WhatsAppTemplate{SID: ct.SID, Name: name, Language: ct.Language,
				Category: strings.ToLower(ct.Approval.Category), Body: body,
				Variables: crm.TemplateVariables(body), Samples: ct.Variables})
		}
		next = p.Meta.NextPageURL
	}
	sortTemplates(list)
	return list, nil
}

func sortTemplates(list []crm.WhatsAppTemplate) {
	slices.SortStableFunc(list, func(a, b crm.WhatsAppTemplate) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Language, b.Language))
	})
}
