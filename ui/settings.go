package ui

import (
	"fmt"
	"os"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
)

// Settings are what the teacher sets in the studio. They live in the
// app's preferences (Fyne keeps them in the user's config folder), so they
// come back on the next launch; streams and keys live in the data folder.
type Settings struct {
	prefs fyne.Preferences

	HTTPPort      int    // share page, players and API; default 8080
	RTMPPort      int    // RTMP push and play; default 1935
	DataDir       string // streams, keys and recordings; "" is the default folder
	Language      string // "" (the system's), "en" or "zh" (Simplified Chinese)
	Notifications bool   // desktop notifications; default on
	Address       string // preferred LAN address in share links; "" is automatic
}

// LoadSettings reads the settings from prefs.
func LoadSettings(prefs fyne.Preferences) *Settings {
	return &Settings{
		prefs:         prefs,
		HTTPPort:      prefs.IntWithFallback("http_port", 8080),
		RTMPPort:      prefs.IntWithFallback("rtmp_port", 1935),
		DataDir:       prefs.String("data_dir"),
		Language:      prefs.String("language"),
		Notifications: prefs.BoolWithFallback("notifications", true),
		Address:       prefs.String("address"),
	}
}

// Save writes the settings back.
func (s *Settings) Save() {
	s.prefs.SetInt("http_port", s.HTTPPort)
	s.prefs.SetInt("rtmp_port", s.RTMPPort)
	s.prefs.SetString("data_dir", s.DataDir)
	s.prefs.SetString("language", s.Language)
	s.prefs.SetBool("notifications", s.Notifications)
	s.prefs.SetString("address", s.Address)
}

// ApplyLanguage makes the translations follow the chosen language ("" keeps
// the system's). It must run before the translations are added: Fyne
// reads the language from the environment then, and LC_ALL is the
// variable that overrides all others.
func ApplyLanguage(language string) {
	switch language {
	case "zh":
		_ = os.Setenv("LC_ALL", "zh_CN.UTF-8")
	case "en":
		_ = os.Setenv("LC_ALL", "en_US.UTF-8")
	}
}

// showSettings edits the settings. Address and notifications apply at
// once; ports, folder and language on the next start, which is offered
// at once.
func (s *Studio) showSettings() {
	st := s.settings
	httpPort := widget.NewEntry()
	httpPort.SetText(strconv.Itoa(st.HTTPPort))
	httpPort.Validator = portValidator
	rtmpPort := widget.NewEntry()
	rtmpPort.SetText(strconv.Itoa(st.RTMPPort))
	rtmpPort.Validator = portValidator
	dataDir := widget.NewEntry()
	dataDir.SetText(st.DataDir)
	dataDir.SetPlaceHolder(lang.L("Default folder"))
	languages := []string{lang.L("System language"), "English", "简体中文"}
	codes := []string{"", "en", "zh"}
	language := widget.NewSelect(languages, nil)
	for i, c := range codes {
		if c == st.Language {
			language.SetSelectedIndex(i)
		}
	}
	addrs := s.host.Addresses()
	address := widget.NewSelect(addrs, nil)
	address.SetSelected(s.address)
	notify := widget.NewCheck(lang.L("Tell me when a stream goes live, loses its source or gains viewers"), nil)
	notify.SetChecked(st.Notifications)
	// what this run listens on, which a busy port or a flag may make
	// differ from the saved settings
	web, rtmp := s.host.Ports()
	inUse := widget.NewLabel(fmt.Sprintf(lang.L("In use now: web port %d, RTMP port %d"), web, rtmp))
	inUse.Importance = widget.LowImportance
	items := []*widget.FormItem{
		widget.NewFormItem(lang.L("Address in links"), address),
		widget.NewFormItem(lang.L("Notifications"), notify),
		widget.NewFormItem(lang.L("Language"), language),
		widget.NewFormItem(lang.L("Web port"), httpPort),
		widget.NewFormItem(lang.L("RTMP port"), rtmpPort),
		widget.NewFormItem("", inUse),
		widget.NewFormItem(lang.L("Data folder"), dataDir),
	}
	d := dialog.NewForm(lang.L("Settings"), lang.L("Save"), lang.L("Cancel"), items, func(ok bool) {
		if !ok {
			return
		}
		restart := false
		hp, _ := strconv.Atoi(httpPort.Text)
		rp, _ := strconv.Atoi(rtmpPort.Text)
		lc := codes[max(language.SelectedIndex(), 0)]
		restart = hp != st.HTTPPort || rp != st.RTMPPort || dataDir.Text != st.DataDir || lc != st.Language
		st.HTTPPort, st.RTMPPort, st.DataDir, st.Language = hp, rp, dataDir.Text, lc
		st.Notifications = notify.Checked
		s.notify.enabled.Store(notify.Checked)
		if address.Selected != "" {
			st.Address = address.Selected
			s.address = address.Selected
			for _, c := range s.cards {
				c.qrURL = "" // new link, new QR code
			}
		}
		st.Save()
		if restart {
			s.offerRestart()
		}
		s.kickRefresh()
	}, s.win)
	d.Resize(fyne.NewSize(560, 420))
	s.showForm(d)
}

func portValidator(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s", lang.L("A port is a number from 1 to 65535"))
	}
	return nil
}

func (s *Studio) kickRefresh() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// offerRestart offers to start Chalkcast again now, for settings that
// apply only when it starts.
func (s *Studio) offerRestart() {
	msg := lang.L("Ports, folder and language change when Chalkcast starts again.")
	if s.liveStreams() > 0 {
		msg += "\n" + lang.L("Restarting stops the live streams for a few seconds; camera and screen streams wait until you start them again.")
	}
	s.confirm(lang.L("Restart Chalkcast?"), msg, lang.L("Restart now"), lang.L("Later"), s.doRestart)
}
