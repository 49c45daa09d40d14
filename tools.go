//go:build tools

package tools

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/bwmarrin/discordgo"
	_ "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	_ "github.com/gorilla/websocket"
	_ "github.com/mmcdole/gofeed"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/robfig/cron/v3"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/net/html"
	_ "golang.org/x/net/html/charset"
	_ "golang.org/x/text/cases"
	_ "golang.org/x/text/unicode/norm"
	_ "pgregory.net/rapid"
)
