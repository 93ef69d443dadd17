# title: Harbour Lights
# author: The Corpus
VAR coins = 3
VAR met_sailor = false
CONST TIDE_HOURS = 6
LIST mood = calm, (uneasy), afraid

-> dock

=== dock ===
// The Dock
# harbour
The dock creaks under your feet. {coins > 0: You jingle {coins} coins.|Your purse is empty.}
+ [Walk to the market] -> market
+ {not met_sailor} [Talk to the sailor] -> sailor
+ [Board a ship] -> ship
* [Wait for the tide]
    You wait <>
    for {TIDE_HOURS} hours.
    -> dock

=== market ===
= stalls
Fish, rope, tar. <>
The smell of the sea.
+ [Buy a fish] 
    ~ coins = coins - 1
    -> market.stalls
+ [Back to the dock] -> dock
+ [Visit the cooper] -> cooper

= cooper
Barrels, hoops and an old cooper.
"Need a barrel?" {~he asks|he grunts|he says nothing}.
-> market.stalls

=== sailor ===
~ met_sailor = true
The sailor tells you about the {shuffle: kraken|reef|ghost ship}.
- (listen) "Again?" she asks.
* [Yes] -> listen
* [No] -> dock
* [Ask about the tide] -> tide_table ->
    -> dock

=== tide_table ===
High tide comes every {TIDE_HOURS} hours.
->->

=== ship ===
{coins >= 2:
    You buy passage and sail away.
    -> END
- else:
    "No money, no passage," says the captain.
    -> dock
}

=== function double(x) ===
~ return x * 2

=== lighthouse ===
// Never reached: a draft
The lighthouse is dark tonight.
-> END
