#!/usr/bin/env bash
# Sharing a cast library in git: the shell side. Each section runs on its own (the tests run them
# in order with WORKBENCH_HOME set for the author or the teammate and TEAM_REMOTE a bare repository).
set -euo pipefail

# --8<-- [start:share]
cd "$WORKBENCH_HOME/cast"
git init -q -b main
git add -- *.json
git commit -q -m "Cast: Mara Quell, Tomas Reyes"
git remote add origin "$TEAM_REMOTE"   # e.g. git@git.example.org:studio/cast.git
git push -q -u origin main
# --8<-- [end:share]

# --8<-- [start:join]
git clone -q "$TEAM_REMOTE" "$WORKBENCH_HOME/cast"
# --8<-- [end:join]

# --8<-- [start:publish]
cd "$WORKBENCH_HOME/cast"
git commit -q -am "Mara: calls everyone 'keeper'"
git push -q
# --8<-- [end:publish]

# --8<-- [start:pull]
git -C "$WORKBENCH_HOME/cast" pull -q --ff-only
# --8<-- [end:pull]
