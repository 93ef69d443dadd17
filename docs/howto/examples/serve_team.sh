#!/usr/bin/env bash
# Serving the workbench to a team. Each section is a separate way; the tests check every command
# against the `workbench` argument parser and run the refusal at the end.
set -euo pipefail

# --8<-- [start:behind-proxy]
# the app stays on the loopback address; the proxy (below) is what the team reaches. The browser's
# WebSocket comes from the proxy's public name: allow it (Bokeh's setting; it replaces the default list)
export BOKEH_ALLOW_WS_ORIGIN=stories.example.org
workbench serve team.story --address 127.0.0.1 --port 5006 --model "openai:qwen2.5-7b@http://127.0.0.1:8000/v1?server=vllm"
# --8<-- [end:behind-proxy]

# --8<-- [start:basic-auth]
# without a proxy: any address other than loopback needs a password (or OAuth)
export WORKBENCH_BASIC_AUTH=/etc/workbench/users.json        # {"mara": "…", "tomas": "…"}
export PANEL_COOKIE_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
workbench serve team.story --address 0.0.0.0 --port 5006
# the same, with the flags instead of the environment
workbench serve team.story --address 0.0.0.0 --basic-auth /etc/workbench/users.json --cookie-secret "$PANEL_COOKIE_SECRET"
# --8<-- [end:basic-auth]

# --8<-- [start:oauth]
export PANEL_OAUTH_KEY=… PANEL_OAUTH_SECRET=… PANEL_COOKIE_SECRET=…
workbench serve team.story --address 0.0.0.0 --oauth-provider github
# --8<-- [end:oauth]

# --8<-- [start:refused]
workbench serve team.story --address 0.0.0.0
# workbench serve: refusing to serve on 0.0.0.0: anyone who can reach it could read and change the story. …
# --8<-- [end:refused]
