/* The hand-written text bank: ten work-place SJT items, each with a
 * scenario, a 0..3 rubric, and for every score level two intents (the
 * action a person would take), each phrased three ways in the reference
 * register and three ways in the focal register.
 *
 * The two registers express the same actions. The reference register is
 * direct and first-person ("talk to Sam one-on-one"); the focal register is
 * more collective and indirect ("have a quiet word with Sam ... together"),
 * as people from different communities and workplaces write. Every phrasing
 * is a verb phrase in the base form so that response_text.c can put any
 * subject in front of it. Content words recur across score levels on
 * purpose: the score lies in the action, not in a keyword. */
#include "sjtalign/sim.h"

#include <stdio.h>
#include <string.h>

#define BANK_INTENTS 2
#define BANK_PHRASINGS 3

typedef struct {
    const char *label;
    const char *phrasing[2][BANK_PHRASINGS]; /* [reference, focal][i] */
} bank_intent;

typedef struct {
    const char *scenario;
    const char *anchor[SJ_SIM_LEVELS];
    bank_intent intent[SJ_SIM_LEVELS][BANK_INTENTS];
} bank_item;

static const char QUESTION[] = "What would you do?";

static const bank_item BANK[] = {
    /* S01: a colleague missing deadlines */
    {"Your colleague Sam has missed three deadlines this month on a project you share. Your part "
     "cannot start until his is done, and the client review is next Friday.",
     {"Blames or shames Sam in front of others, complains about him behind his back, or lets the "
      "review fail to prove a point.",
      "Avoids the conversation: quietly does Sam's work or waits and hopes things improve.",
      "Raises the problem with Sam or with the project lead, but without asking about causes or "
      "agreeing a plan.",
      "Talks with Sam privately and supportively, learns what is in the way, agrees a concrete "
      "plan, and warns the lead early if the date is at risk."},
     {{{"public_blame",
        {{"call Sam out in front of the whole team at the next stand-up",
          "point out his missed deadlines in the team meeting so everyone knows who is at fault",
          "copy the whole department on an email listing every deadline Sam missed"},
         {"show the team in our meeting that Sam is the one holding everybody back",
          "make Sam's failures known to all the colleagues so that he feels the shame",
          "name Sam openly in the group meeting as the reason we are behind"}}},
       {"let_it_fail",
        {{"complain about Sam to other colleagues and let the review fail so it is clear it is "
          "his fault",
          "stop working on my part and let the client see what Sam has done",
          "tell people Sam is lazy and let the project miss the review"},
         {"talk about Sam with the others behind his back and leave his part undone so he "
          "carries the blame",
          "let the review go badly so everybody can see the problem is Sam",
          "tell the other colleagues Sam cannot be trusted and leave the work as it is"}}}},
      {{"do_his_part",
        {{"quietly finish Sam's tasks myself so the review is not affected",
          "just do his part on my own over the weekend and say nothing",
          "take over Sam's work without mentioning it to anyone"},
         {"silently carry Sam's share of the work myself so the team is not embarrassed at the "
          "review",
          "cover for Sam by doing his part at home without making it an issue",
          "take his tasks on my own shoulders quietly so nobody loses face"}}},
       {"wait_it_out",
        {{"wait a few more days and hope Sam catches up on his own",
          "leave it for now and see whether the deadlines improve",
          "keep working on my own things and assume Sam will sort it out"},
         {"be patient a while longer and trust that Sam will manage in his own time",
          "give it some days and hope things settle by themselves",
          "not disturb Sam and let the matter resolve with time"}}}},
      {{"tell_sam",
        {{"tell Sam directly that his delays are blocking my work and that he needs to deliver "
          "on time",
          "email Sam that he has missed three deadlines and ask him to meet the next one",
          "let Sam know plainly that the review depends on him and he must finish his part"},
         {"let Sam know politely that our work is held up and request him to please keep to the "
          "dates",
          "remind Sam kindly that all of us are waiting on his part and the dates matter for the "
          "team",
          "mention to Sam in a respectful way that his part is needed soon so we are not all "
          "delayed"}}},
       {"tell_lead",
        {{"report the missed deadlines to the project lead and let them deal with it",
          "escalate the delays to the lead and ask them to sort out Sam",
          "bring the problem to the lead so management handles the schedule"},
         {"inform our lead about the delays and leave the matter in their hands",
          "raise the situation with the lead so that the senior person can guide Sam",
          "share the concern with our lead, since it is for them to correct such things"}}}},
      {{"private_plan",
        {{"sit down with Sam one-on-one, ask what is blocking him and agree on a realistic plan "
          "for the remaining tasks",
          "talk to Sam privately, find out what is behind the delays and set clear checkpoints "
          "before the review",
          "meet Sam in private, listen to what is going on and work out a schedule we both commit "
          "to"},
         {"have a quiet word with Sam, hear what is troubling him and make a plan together so we "
          "finish on time",
          "take Sam aside gently, understand his situation and agree among us how the work gets "
          "done before Friday",
          "check with Sam away from the others how he is doing and decide together on small steps "
          "to catch up"}}},
       {"help_and_warn",
        {{"offer Sam help with the tasks he is stuck on and give the project lead an honest "
          "heads-up about the date",
          "pair with Sam on the blocked work this week and flag the schedule risk to the lead "
          "early",
          "ask Sam where I can support him and tell the lead now that Friday may slip unless we "
          "adjust"},
         {"lend Sam a hand where he is stuck and let our lead know early, so the whole team can "
          "adjust in time",
          "work alongside Sam on the hard parts and kindly inform the lead that we may need a "
          "little more time",
          "see how we can carry the load together with Sam and keep our lead aware of the risk "
          "from the start"}}}}}},

    /* S02: a customer complaint */
    {"A customer calls you, upset and raising their voice: an order arrived late and damaged, "
     "for the second time. Deliveries are handled by another department.",
     {"Argues with the customer, blames colleagues to the customer, or ends the call.",
      "Deflects: sends the customer to another department or reads out policy without helping.",
      "Apologises and offers the standard remedy, or passes the case on properly, but does not "
      "take ownership or follow up.",
      "Listens, acknowledges the frustration, takes ownership of putting it right, and follows up "
      "on the repeated cause."},
     {{{"argue",
        {{"tell the customer to calm down or I will end the call",
          "argue that the damage probably happened after the delivery",
          "hang up if they keep raising their voice"},
         {"ask them to respect me first and put the phone down if the shouting continues",
          "insist that the damage must have happened on their side after delivery",
          "end the call, since nobody should be spoken to like that"}}},
       {"blame_colleagues",
        {{"tell the customer the delivery department is useless and it is not my fault",
          "agree with the customer that the shipping team is a mess and there is nothing I can "
          "do",
          "blame the warehouse staff by name and say they always get it wrong"},
         {"tell the customer honestly that the delivery people are careless and it is not our "
          "side's fault",
          "agree that the other department is hopeless and say we cannot do anything",
          "let the customer know the warehouse colleagues always make these mistakes"}}}},
      {{"redirect",
        {{"explain that delivery is another department and give them that number",
          "tell the customer I cannot help with shipping and that they should call the delivery "
          "team",
          "point them to the delivery department's contact page since it is not my area"},
         {"let them know this belongs to another department and share that number with them",
          "tell the customer that shipping is with other colleagues and they should reach out "
          "there",
          "guide them to contact the delivery people since our side does not deal with it"}}},
       {"read_policy",
        {{"read out the complaints policy and ask them to fill in the online form",
          "explain the refund rules and tell them to submit a claim with photos",
          "quote the terms and conditions on late deliveries and leave it there"},
         {"explain the rules of our company and ask them to kindly fill in the complaint form",
          "tell them the procedure as written and request that they send photos of the damage",
          "share what the policy says about delays and ask them to follow those steps"}}}},
      {{"standard_remedy",
        {{"apologise and offer the standard refund according to policy",
          "say sorry and process the usual compensation voucher",
          "apologise for the delay and issue a refund through the normal procedure"},
         {"say sorry nicely and give the normal refund as the rules allow",
          "apologise to the customer and provide the usual voucher we give in such cases",
          "express our regret and arrange the standard refund that the policy offers"}}},
       {"pass_on_properly",
        {{"open a ticket with the delivery department and give the customer the reference number",
          "transfer the case to the right team with all the details so the customer does not "
          "repeat it",
          "log a complaint with shipping and tell the customer they will hear back within two "
          "days"},
         {"pass the case to the delivery colleagues with full details and give the customer the "
          "reference",
          "hand the matter over to the right team properly so the customer need not explain "
          "again",
          "register the complaint with the shipping people and assure the customer that someone "
          "will call"}}}},
      {{"own_the_fix",
        {{"listen until they finish, apologise for the trouble and arrange a replacement myself, "
          "then call them back",
          "acknowledge how frustrating this is, take ownership of the case and ship a new order "
          "today",
          "let the customer vent, say sorry for the repeated problem and personally track the "
          "replacement"},
         {"hear the customer out patiently, say we are truly sorry and make sure a new order "
          "reaches them",
          "calm the customer by showing we understand and take care of the replacement ourselves",
          "let them share everything, apologise sincerely for all of us and stay with the case "
          "until it is put right"}}},
       {"fix_and_follow_up",
        {{"resolve the order on the call and then raise the repeated damage with the delivery "
          "department so it stops",
          "sort out a refund or replacement right away and log the pattern with shipping for a "
          "root-cause fix",
          "solve their issue first and follow up with delivery to find out why it keeps "
          "happening"},
         {"help the customer first and afterwards sit with the delivery colleagues so together we "
          "stop this happening again",
          "make it right for the customer, then bring the repeated damage to the delivery team in "
          "a friendly way",
          "take care of what the customer needs and then work with the other department so no "
          "customer suffers this again"}}}}}},

    /* S03: a safety shortcut */
    {"On a busy shift you see an experienced co-worker, Dana, clear a jam on a packaging machine "
     "without locking it out first. She says it saves ten minutes and she has done it for years.",
     {"Copies the shortcut, encourages it, or helps to hide it.",
      "Notices but does nothing, or makes a joke of it, because Dana is more experienced.",
      "Tells Dana it is unsafe or reports it later, but does not stop the unsafe work.",
      "Stops the unsafe act at once, speaks with Dana respectfully, and makes sure the cause is "
      "addressed (supervisor, procedure, time pressure)."},
     {{{"copy_shortcut",
        {{"start doing the same thing to save time on my own jams",
          "ask her to show me the trick so I can skip the lock-out too",
          "follow her example because the targets matter more"},
         {"learn her way of doing it, since the team has to meet the targets",
          "do it the same way she does so we all go faster",
          "follow what the experienced people do, as they know best"}}},
       {"cover_up",
        {{"keep it quiet and warn her if the supervisor comes by",
          "tell her I will cover for her if anyone asks",
          "hide it from the safety audit so the team does not get in trouble"},
         {"keep it between us and alert her when the supervisor is near",
          "protect her by saying nothing if the managers ask",
          "make sure the audit does not find out, so that the team is not punished"}}}},
      {{"ignore",
        {{"say nothing since she has more experience than me",
          "let it go because it is not my job to police her",
          "keep working on my own line and not get involved"},
         {"keep quiet out of respect, because she is senior and knows the machine better",
          "not say anything, as it is not my place to correct an elder colleague",
          "leave it, since she has done this for years without trouble"}}},
       {"joke",
        {{"make a joke about her living dangerously and move on",
          "laugh it off and remind her not to get caught",
          "tease her about it but not really push the point"},
         {"make a light comment about it and continue with our work",
          "smile and tell her to be careful, without making a big thing of it",
          "say something funny about it so there is no bad feeling"}}}},
      {{"warn_only",
        {{"tell Dana it is against the rules and she should not do it",
          "warn her that skipping lock-out is unsafe and leave it to her",
          "mention to Dana that she could get hurt doing that"},
         {"advise Dana politely that this is not allowed and she should be careful",
          "let her know kindly that it is risky and hope she listens",
          "tell her in a respectful way that the rules say otherwise"}}},
       {"report_later",
        {{"report it to the supervisor at the end of the shift",
          "send the safety officer an email about it after work",
          "file a near-miss report later in the week"},
         {"inform the supervisor after the shift so the right person can handle it",
          "write to the safety office later so that the matter is taken up properly",
          "let the supervisor know when there is a calm moment, maybe at the end of the day"}}}},
      {{"stop_and_talk",
        {{"ask Dana to stop right away, lock the machine out with her and explain the injuries "
          "this step prevents",
          "step in immediately, make sure the machine is locked out and talk to Dana calmly about "
          "why it matters",
          "stop the work on the spot, help her do the lock-out properly and discuss the risk with "
          "her one-on-one"},
         {"request Dana to pause at once and do the lock-out together, explaining gently that her "
          "safety matters to us",
          "stop her kindly before she continues, lock the machine together and remind her that "
          "her family needs her safe",
          "interrupt respectfully, help her lock it out and share with her why this step protects "
          "everyone"}}},
       {"fix_the_cause",
        {{"stop the shortcut and report it to the supervisor so the time pressure behind it gets "
          "fixed",
          "make sure she locks out, then raise the ten-minute delay with the supervisor so nobody "
          "feels pushed",
          "halt the unsafe clearing and bring it up at the safety meeting so the procedure gets "
          "faster"},
         {"stop the shortcut first, then bring it to the supervisor so together we remove the "
          "pressure to skip steps",
          "make sure the machine is made safe and then discuss with the supervisor how the team "
          "can save time safely",
          "pause the work and raise it in the safety meeting so we all find a better way as a "
          "group"}}}}}},

    /* S04: credit taken for your work */
    {"At a meeting with senior management, your manager presents an analysis you built over "
     "several weeks as their own work. Your name is not mentioned.",
     {"Confronts the manager in front of senior management, or retaliates (gossip, withholding "
      "work, going over their head in anger).",
      "Says nothing and lets it go, or complains to colleagues without addressing it.",
      "Raises it with the manager, but only by hinting or by accusing, without a clear request.",
      "Speaks with the manager privately and calmly, states the facts, and asks for a concrete "
      "remedy (credit now, visibility in future)."},
     {{{"confront_publicly",
        {{"interrupt the meeting and tell senior management the analysis is mine",
          "correct my manager in front of everyone right there",
          "speak up during the presentation and say my manager stole it"},
         {"stand up in the meeting and let the senior people know who really did the work",
          "correct my manager openly before all the seniors",
          "announce to the room that the analysis came from me"}}},
       {"retaliate",
        {{"stop sharing my work with my manager and let them fail next time",
          "go over my manager's head to the director and complain angrily",
          "spread the story around the office so people know what they are like"},
         {"hold back my help from now on so the manager learns a lesson",
          "go to the director in anger and complain about my manager",
          "let the whole office know how my manager behaves"}}}},
      {{"let_it_go",
        {{"let it go since it is not worth the trouble",
          "say nothing and just move on to the next project",
          "accept it because that is how managers operate"},
         {"keep silent, because the manager's name also represents our team",
          "leave it, as raising it may spoil the relationship",
          "accept it quietly since the work is for the company in the end"}}},
       {"vent_to_peers",
        {{"complain to a few coworkers about it over lunch",
          "tell my friends at work how unfair my manager is",
          "vent about it to colleagues but not say anything to my manager"},
         {"share my hurt feelings with close colleagues but not with the manager",
          "talk to my trusted coworkers about it to feel better",
          "tell the team privately what happened without raising it upward"}}}},
      {{"vague_hint",
        {{"drop a hint to my manager that I worked hard on that analysis",
          "mention to my manager afterwards that it would have been nice to be named",
          "send my manager a short message saying I noticed my name was missing"},
         {"indirectly let my manager know that the analysis took me many weeks",
          "say to my manager in passing that it would be good to mention who did the work",
          "give my manager a small hint so they understand without me saying it directly"}}},
       {"accuse",
        {{"tell my manager afterwards that stealing my work is unacceptable",
          "email my manager demanding an apology for taking credit",
          "confront my manager after the meeting and say I know what they did"},
         {"tell my manager after the meeting that it was not right to take what others made",
          "let my manager know strongly that I expect an apology",
          "go to my manager's desk and say clearly that this was unfair to me"}}}},
      {{"private_calm_ask",
        {{"meet my manager privately, calmly explain that the analysis was mine and ask to be "
          "credited in the follow-up",
          "ask my manager for a one-on-one, state the facts and agree how my work is credited "
          "going forward",
          "raise it with my manager in private, stay factual and request that I present the next "
          "update myself"},
         {"speak to my manager alone in a respectful manner and humbly ask that my effort be "
          "recognised next time",
          "have a quiet talk with my manager, share how I felt and request that my name be "
          "mentioned to the seniors",
          "approach my manager privately and politely, without accusing, and ask that our "
          "contributions be named"}}},
       {"visibility_plan",
        {{"keep a record of my work, discuss it with my manager and propose that I co-present "
          "future analyses",
          "document my contribution and agree with my manager on a clear way to share credit from "
          "now on",
          "talk it through with my manager and suggest adding author names to reports so this "
          "does not repeat"},
         {"keep my notes safe, talk openly with my manager and suggest that we present our work "
          "together in future",
          "discuss with my manager how everyone's part can be shown, such as names on each report",
          "gently suggest to my manager that the whole team presents together next time"}}}}}},

    /* S05: conflicting priorities from two managers */
    {"Two managers you report to have each given you an urgent task due tomorrow morning. You "
     "cannot finish both in time, and each says theirs comes first.",
     {"Misleads the managers (promises both, then misses one silently) or drops one task without a "
      "word.",
      "Tries to do both by working through the night without telling anyone, or picks one at "
      "random.",
      "Tells the managers about the conflict but leaves them to sort it out, or negotiates with "
      "only one of them.",
      "Raises the conflict early with both managers, shares the trade-offs, and gets an agreed "
      "priority or proposes a split or extra help."},
     {{{"promise_both",
        {{"tell both managers their task will be ready and then miss one without saying anything",
          "promise each manager that theirs is the priority and hope nobody notices",
          "say yes to both and blame a system problem for the one I miss"},
         {"assure both managers that their work will be ready, even knowing one will not",
          "say yes to each manager to keep everyone happy and keep quiet about the delay",
          "agree with both and give an excuse later for the one left undone"}}},
       {"ignore_one",
        {{"do the task for the manager I like more and ignore the other one",
          "drop the second task without telling that manager",
          "only work for the more senior manager and not reply to the other"},
         {"work only for the manager who is closer to me and leave the other without a word",
          "quietly put aside the other manager's task",
          "follow the more senior manager and not answer the other"}}}},
      {{"all_nighter",
        {{"work through the night to finish both without telling anyone",
          "try to do both by staying up late and hope it works",
          "push through both tasks alone and not bother either manager"},
         {"sacrifice my sleep and try to finish both without troubling anyone",
          "work late into the night so no manager is disappointed",
          "try my best to do both on my own, quietly"}}},
       {"pick_randomly",
        {{"pick whichever task looks easier and start on that",
          "just work on the first task that came in", "flip a coin and go with that one"},
         {"do the task that feels more comfortable first",
          "start on whichever request reached me first", "take up one task as it comes and see"}}}},
      {{"flag_and_leave",
        {{"tell both managers there is a conflict and leave it to them to sort out",
          "send a message saying I cannot do both and wait for their reply",
          "inform them about the clash and let them fight it out"},
         {"let both managers know about the clash and wait for them to settle it",
          "mention the difficulty to the managers and leave the decision with them",
          "inform the managers that both tasks are not possible and await their guidance"}}},
       {"negotiate_one",
        {{"ask one manager for an extension and do the other task first",
          "negotiate more time with whichever manager seems easier to talk to",
          "talk to the manager whose task is smaller and ask if it can wait"},
         {"kindly request one manager for extra time and focus on the other task",
          "speak with the more approachable manager and ask for a little more time",
          "ask the manager I know better if their work can wait a day"}}}},
      {{"joint_decision",
        {{"email both managers right away, explain the conflict and ask them to agree on which "
          "task comes first",
          "set up a quick call with both managers, lay out the two deadlines and get a joint "
          "decision on priority",
          "bring both managers together, show what each task needs and let them agree on the "
          "order"},
         {"bring the two managers together politely so that all of us agree on what matters most",
          "inform both managers at the same time of the clash and respectfully request them to "
          "decide together",
          "gather both managers for a short talk and seek a common agreement on the order"}}},
       {"propose_options",
        {{"tell both managers today what is realistic and propose finishing one and a partial "
          "version of the other",
          "offer both managers options, such as getting a colleague to help or moving one deadline "
          "by a day",
          "explain to both what I can deliver by tomorrow and suggest splitting the second task "
          "with a teammate"},
         {"share with both managers honestly what is possible and suggest one task now and the "
          "other a little later",
          "propose to the two managers that a colleague joins hands on one task so both are served",
          "humbly offer both managers a middle path, with one complete and part of the other "
          "done"}}}}}},

    /* S06: a confidentiality slip */
    {"You realise you sent a spreadsheet with clients' personal details to an external supplier "
     "instead of to a colleague. Nobody has noticed yet.",
     {"Hides the mistake, deletes evidence, or asks the supplier to keep quiet.",
      "Quietly asks the supplier to delete the file, or waits, and tells no one inside the "
      "company.",
      "Reports the mistake, but late or only in part (for example without saying it held client "
      "data).",
      "Reports the slip at once to the manager or data protection officer, asks the supplier to "
      "delete it and confirm, and helps contain it."},
     {{{"hide_evidence",
        {{"delete the sent email from my outbox so there is no record",
          "cover it up and deny sending anything if asked",
          "erase the email trail and say nothing"},
         {"remove the email from my sent items so nobody finds out",
          "keep it hidden and say I know nothing if questioned",
          "clear the email history so there is no sign of it"}}},
       {"ask_secrecy",
        {{"ask the supplier to keep it quiet so my company never finds out",
          "offer the supplier a favour if they delete it and say nothing",
          "tell the supplier it is fine as long as nobody here hears about it"},
         {"request the supplier to keep the secret between us so my company does not know",
          "promise the supplier some help in return for staying quiet",
          "make an arrangement with the supplier that nobody here learns of it"}}}},
      {{"quiet_delete",
        {{"email the supplier to delete the file and leave it at that",
          "ask the supplier to ignore and delete it, without telling anyone here",
          "quietly request deletion from the supplier and move on"},
         {"politely ask the supplier to delete the file and not disturb anyone inside",
          "request the supplier to remove it and keep the matter small",
          "settle it directly with the supplier so it does not become a big issue"}}},
       {"hope_unnoticed",
        {{"wait and see whether anybody notices before doing anything",
          "do nothing for now since the supplier probably will not open it",
          "assume the supplier will ignore it and carry on"},
         {"wait patiently and hope the supplier does not look at it",
          "leave it for now, trusting that no harm will come",
          "not raise it unless somebody asks about it"}}}},
      {{"report_later",
        {{"mention it to my manager at our weekly meeting",
          "wait a day to see if the supplier says anything, then tell my manager",
          "report it at the end of the week once I know more"},
         {"bring it up with my manager when we next sit together",
          "wait a little to see whether the supplier responds before informing anyone",
          "tell my manager later, when the right moment comes"}}},
       {"partial_report",
        {{"tell my manager a file went to the wrong person but leave out that it had client data",
          "report that I made an email mistake without giving the details",
          "let IT know an email went out wrongly but not mention the personal data"},
         {"inform my manager that there was a small email error without going into what it "
          "contained",
          "say that something was sent by mistake but not explain the client details",
          "tell IT about a wrong email without mentioning the clients"}}}},
      {{"report_now",
        {{"report the slip immediately to my manager and the data protection officer and follow "
          "the breach process",
          "tell my manager and the privacy team right away so the breach can be assessed and "
          "clients informed",
          "contact the data protection officer at once, explain exactly what was sent and to whom, "
          "and help"},
         {"inform my manager and the data protection officer straight away, accepting my mistake "
          "openly",
          "go to my manager at once and admit the error so the privacy team can protect the "
          "clients",
          "honestly tell the data protection officer and my manager what happened without "
          "delay"}}},
       {"contain_and_report",
        {{"call the supplier to delete the file and confirm in writing, and report it to the "
          "privacy team the same hour",
          "ask the supplier to delete the spreadsheet and confirm, while logging the incident with "
          "data protection",
          "recall the email, get written confirmation of deletion from the supplier, and escalate "
          "to the privacy team"},
         {"request the supplier to kindly delete the file and confirm it, and also inform our "
          "privacy team at once",
          "contact the supplier for deletion and a written confirmation, and report it to data "
          "protection the same day",
          "work with the supplier to remove the file and keep the privacy team informed from the "
          "start"}}}}}},

    /* S07: a new team member struggling */
    {"Priya joined your team three weeks ago. She seems overwhelmed, makes small mistakes, and "
     "rarely asks questions in meetings. You are not her manager.",
     {"Criticises or mocks her mistakes in front of others, or reports her as unfit without having "
      "spoken to her.",
      "Leaves it to her manager or assumes she will learn by herself.",
      "Offers only general help or quietly fixes her mistakes without telling her.",
      "Checks in with her privately and warmly, offers specific help (a walk-through, a buddy, who "
      "to ask), and follows up."},
     {{{"criticise_publicly",
        {{"point out her mistakes in the team meeting so she learns faster",
          "make a joke about her errors in front of the team",
          "correct her sharply in front of others whenever she gets something wrong"},
         {"show the team her errors in the meeting so that she takes it seriously",
          "laugh about her mistakes with the others",
          "correct her strongly in front of everyone"}}},
       {"report_unfit",
        {{"tell her manager she is not up to the job without talking to her first",
          "complain to the manager that she is slowing the team down",
          "suggest to the manager that hiring her was a mistake"},
         {"inform the manager that she is not suitable, without speaking to her",
          "tell the manager the team suffers because of her",
          "let the manager know she should be replaced"}}}},
      {{"leave_to_manager",
        {{"leave it to her manager, since onboarding is their job",
          "not get involved because I am not her manager",
          "assume her manager has noticed and is handling it"},
         {"leave it to the manager, who is responsible for her",
          "not interfere, as it is the manager's role to guide new people",
          "trust that her manager will look after her"}}},
       {"sink_or_swim",
        {{"let her figure it out, since everybody struggles at the start",
          "wait and see whether she improves on her own",
          "leave her to learn by trial and error like I did"},
         {"give her time, as everyone finds their feet in the end",
          "allow her to learn at her own pace without stepping in",
          "let her grow by herself through the difficulties"}}}},
      {{"general_offer",
        {{"tell her to let me know if she needs anything",
          "send her a message saying my door is open",
          "say in a meeting that anyone can ask me questions"},
         {"let her know she can come to me whenever she wishes",
          "tell her kindly that we are all here for her",
          "mention to her that she should not hesitate to ask"}}},
       {"fix_silently",
        {{"correct her mistakes myself before anyone sees them",
          "quietly fix the errors in her work without mentioning it",
          "redo her small mistakes so she does not get in trouble"},
         {"repair her small errors quietly so she is not embarrassed",
          "correct the work behind the scenes to protect her",
          "fix the mistakes for her without saying anything"}}}},
      {{"check_in_specific",
        {{"invite Priya for a coffee, ask how she is finding things and offer to walk her through "
          "the tools",
          "check in with Priya privately, ask what is confusing and set up a short session to go "
          "through it",
          "ask Priya how the first weeks are going and offer to pair with her on the next few "
          "tasks"},
         {"sit with Priya over tea, ask kindly how she is settling in and show her the tools step "
          "by step",
          "approach Priya warmly, make her feel welcome and offer to go through the work together",
          "spend some time with Priya away from the meeting and help her with the tasks she finds "
          "difficult"}}},
       {"buddy_follow_up",
        {{"offer to be her go-to person for questions and check back with her every few days",
          "share my notes, tell her who to ask for what and follow up at the end of the week",
          "set up a regular fifteen-minute check-in with her for the next month"},
         {"offer to be someone she can always come to and keep checking on her gently",
          "introduce her to the right colleagues for each topic and see how she is doing each "
          "week",
          "make a small routine of meeting her so she never feels alone in the team"}}}}}},

    /* S08: an ethical grey area with expenses */
    {"A colleague suggests you both claim a dinner with friends as a client meal on your expense "
     "reports. 'Everyone does it,' he says, 'and the limit is generous.'",
     {"Goes along with the false claim, or helps the colleague to make it.",
      "Declines for themself but says nothing, or jokes along without taking a stand.",
      "Declines and tells the colleague it is wrong, but does nothing if he goes ahead.",
      "Declines clearly, explains why it is not acceptable, urges him not to claim it, and seeks "
      "guidance or reports if he goes ahead."},
     {{{"join_claim",
        {{"go along with it since everyone does it anyway",
          "submit the dinner as a client meal like he suggested",
          "claim it too because the limit is generous"},
         {"join him, since it is common practice among colleagues",
          "put the dinner as a client meal together with him",
          "also claim it so that I am not the odd one out"}}},
       {"help_him",
        {{"help him pick a client name to put on the receipt",
          "suggest we split it across two reports so nobody notices",
          "show him how to word the claim so it passes review"},
         {"help him choose a client to write on the claim",
          "advise him to divide the amount so it is not noticed",
          "assist him in writing the claim so finance accepts it"}}}},
      {{"decline_quietly",
        {{"just not claim it myself and not say anything",
          "politely change the subject and not file anything",
          "skip the claim myself and let him decide"},
         {"quietly not claim it myself and keep the peace",
          "avoid the topic and simply not submit anything",
          "keep away from it myself without making an issue"}}},
       {"laugh_along",
        {{"laugh it off and say maybe next time", "joke that I will think about it and let it drop",
          "play along in the conversation but not file it"},
         {"smile and say we will see, without committing",
          "make a light joke and move on to another topic",
          "agree in words to avoid awkwardness, but not submit"}}}},
      {{"say_wrong",
        {{"tell him it is wrong and that I will not do it",
          "say no and tell him he should not either",
          "tell him it is not right and leave it there"},
         {"tell him honestly that this is not correct and I cannot join",
          "let him know this is not proper and he should think again",
          "say it is not the right thing and stay out of it"}}},
       {"decline_warn",
        {{"refuse and warn him that audits catch these claims",
          "decline and mention that finance checks client meals",
          "say no and remind him that the claims get reviewed"},
         {"refuse and caution him that such things come out in audits",
          "decline and advise him that finance looks at these claims",
          "say no and remind him that the company checks them"}}}},
      {{"decline_explain",
        {{"decline clearly, explain that it is expense fraud whatever others do, and suggest he "
          "pays for the dinner himself",
          "say no and tell him plainly that a false claim could cost him his job, and urge him not "
          "to submit it",
          "refuse, point out that the policy is clear, and talk him out of filing the claim"},
         {"kindly refuse and explain that it is not honest, and advise him as a friend not to "
          "claim it",
          "say no respectfully and remind him that his good name is worth more than one dinner",
          "decline and gently convince him that we should not put false claims, whatever others "
          "do"}}},
       {"check_and_report",
        {{"refuse and, if he submits it anyway, raise it with finance or the ethics line",
          "say no, check the expense policy with finance, and report it if he files the claim",
          "turn it down and escalate to my manager if he goes ahead"},
         {"refuse, and if he still submits it, inform finance so the matter is handled properly",
          "not join, confirm the rules with the finance team and speak up if he proceeds",
          "decline and, if he goes ahead, bring it to the ethics line for guidance"}}}}}},

    /* S09: a teammate who dismisses your ideas in meetings */
    {"In team meetings a teammate, Marco, often interrupts you and dismisses your ideas before you "
     "finish. Others have started to stay quiet too.",
     {"Retaliates in kind: interrupts or ridicules Marco, or makes it personal in front of the "
      "team.",
      "Stops contributing in meetings, or complains about Marco only to others.",
      "Asks the meeting lead to intervene, or tells Marco off without hearing his side.",
      "Talks with Marco privately about the pattern and its effect on the team, proposes a fair "
      "meeting practice, and involves the lead if it continues."},
     {{{"retaliate",
        {{"interrupt Marco back every time he speaks",
          "shut down his ideas in the next meeting the way he does to me",
          "cut Marco off loudly so he sees how it feels"},
         {"do the same to Marco in the meetings so he understands",
          "stop Marco's ideas in front of the group as he does",
          "give Marco a taste of his own medicine in the meeting"}}},
       {"ridicule",
        {{"make a sarcastic comment about Marco in front of the team",
          "mock his ideas openly in the meeting", "roll my eyes and laugh when Marco speaks"},
         {"make fun of Marco's manner before the whole team",
          "laugh at Marco's ideas openly in the group",
          "embarrass Marco in the meeting so he learns"}}}},
      {{"go_quiet",
        {{"stop sharing ideas in meetings to avoid the hassle",
          "keep my ideas to myself and email them later", "stay quiet in meetings from now on"},
         {"keep silent in the meetings to maintain peace",
          "share my ideas only in writing to avoid conflict",
          "hold back in meetings so there is no tension"}}},
       {"vent",
        {{"complain about Marco to the others after the meeting",
          "talk about Marco's attitude with coworkers at lunch",
          "vent to a friend on the team about how rude he is"},
         {"share my frustration about Marco with the others",
          "talk with colleagues about how Marco behaves",
          "tell a close coworker how hurt I feel by Marco"}}}},
      {{"ask_lead",
        {{"ask the meeting lead to stop Marco from interrupting",
          "complain to the lead and let them deal with Marco",
          "request that the lead keep Marco in check"},
         {"request the lead to guide Marco on meeting manners",
          "bring the matter to the lead and leave it with them",
          "ask the lead to kindly control the interruptions"}}},
       {"tell_off",
        {{"tell Marco after the meeting that his behaviour is rude",
          "send Marco a message saying he needs to stop interrupting",
          "tell him straight that he is being disrespectful"},
         {"let Marco know clearly that this way is not respectful",
          "tell Marco that he must stop cutting people off",
          "inform Marco that his manner is hurting people"}}}},
      {{"private_feedback",
        {{"talk to Marco one-on-one, describe specific moments he cut me off and ask him to let me "
          "finish",
          "ask Marco for a quick chat, give him concrete examples and explain how it affects the "
          "discussion",
          "meet Marco privately, stay calm, and agree that we both let each other finish in "
          "meetings"},
         {"speak to Marco personally in a friendly way and share how the interruptions affect all "
          "of us",
          "take Marco aside and kindly explain that everyone's ideas need space in our meetings",
          "have an open talk with Marco away from the group and agree together on listening to "
          "each other"}}},
       {"meeting_practice",
        {{"propose a round-robin in meetings so everyone gets uninterrupted time, and involve the "
          "lead if needed",
          "suggest ground rules for the team meetings and speak to the lead if the interruptions "
          "continue",
          "ask the lead to try a speaking order at the next meeting after raising it with Marco"},
         {"suggest the team agrees on turns in meetings so every voice is heard, and bring the "
          "lead in if needed",
          "propose some shared meeting rules for all of us, and ask the lead for support if it "
          "goes on",
          "recommend to the group that each person speaks in turn, and involve the lead only if "
          "nothing changes"}}}}}},

    /* S10: your own mistake in a client report */
    {"You discover that a report you sent to a client last week contains a calculation error that "
     "understates their costs by about 8%. The client has not noticed.",
     {"Hides the error, or blames someone else for it.",
      "Fixes the numbers only in future reports, or waits to see whether the client notices.",
      "Corrects the report without explaining the error, or tells the manager but not the client.",
      "Tells the manager, contacts the client promptly with a corrected report and a clear "
      "explanation, and helps prevent a repeat."},
     {{{"hide_it",
        {{"keep quiet about it and delete my working files",
          "hide the error and hope nobody ever checks",
          "make sure there is no trace of the original calculation"},
         {"keep the mistake hidden and remove my working notes",
          "say nothing and keep the error buried",
          "clear away my calculations so nobody can trace it"}}},
       {"blame_other",
        {{"say the wrong numbers came from the finance team's data",
          "blame a colleague who reviewed the report",
          "tell the client the error came from their own figures"},
         {"say the mistake came from the data another team gave",
          "put the blame on the colleague who checked the report",
          "tell the client the wrong numbers were from their side"}}}},
      {{"fix_future",
        {{"fix the formula for next month's report and leave last week's as it is",
          "make sure future reports are right without going back to the old one",
          "correct the spreadsheet for the next report only"},
         {"correct the calculation going forward and let the old report be",
          "be more careful in the next reports and leave the past one",
          "fix it from the next report onward without raising it"}}},
       {"wait_and_see",
        {{"wait and see whether the client notices",
          "leave it unless the client asks about the costs",
          "hold off and only deal with it if it comes up"},
         {"wait patiently and only act if the client raises it",
          "leave it for now, hoping it makes no difference",
          "not raise it unless the client asks"}}}},
      {{"silent_correction",
        {{"send the client an updated report without pointing out the error",
          "replace the file with a corrected version and not explain",
          "quietly email the corrected numbers without comment"},
         {"share a new version of the report without drawing attention to the mistake",
          "send the corrected file quietly so it does not become an issue",
          "update the report for the client without mentioning what changed"}}},
       {"tell_manager_only",
        {{"tell my manager about the error and let them decide about the client",
          "report the mistake to my manager but not contact the client",
          "inform my manager and wait for instructions"},
         {"inform my manager of the error and leave the client matter to them",
          "tell my manager what happened and follow their decision",
          "let my manager know and wait for their guidance"}}}},
      {{"own_and_correct",
        {{"tell my manager, then contact the client today with the corrected report and a clear "
          "explanation",
          "own the mistake, send the client a corrected version explaining what changed, and let "
          "my manager know",
          "inform my manager and call the client to walk them through the corrected figures"},
         {"inform my manager first, then kindly reach out to the client with the corrected report "
          "and an apology",
          "admit the error to my manager and to the client openly, sharing the right figures",
          "tell my manager and personally contact the client with corrected numbers and a sincere "
          "explanation"}}},
       {"correct_and_prevent",
        {{"send the client a correction with an explanation and add a second check to our report "
          "process",
          "correct the report for the client and set up a peer review of calculations so it does "
          "not happen again",
          "notify the client with corrected numbers and propose a checklist for future reports"},
         {"send the corrected figures to the client with an explanation, and ask the team to "
          "double check reports",
          "correct it with the client and suggest that we review each other's calculations from "
          "now on",
          "inform the client properly and agree with the team on a check so such errors are not "
          "repeated"}}}}}},
};

#define BANK_SIZE (sizeof BANK / sizeof BANK[0])

size_t sj_sim_bank_size(void)
{
    return BANK_SIZE;
}

void sj_sim_item_id(size_t k, char *out, size_t n)
{
    snprintf(out, n, "S%02zu", k + 1);
}

static const bank_intent *intent_at(size_t k, int level, size_t i)
{
    if (level < SJ_SIM_SCORE_MIN || level > SJ_SIM_SCORE_MAX || i >= BANK_INTENTS)
        return NULL;
    return &BANK[k % BANK_SIZE].intent[level - SJ_SIM_SCORE_MIN][i];
}

size_t sj_sim_n_intents(size_t k, int level)
{
    (void)k;
    return level < SJ_SIM_SCORE_MIN || level > SJ_SIM_SCORE_MAX ? 0 : BANK_INTENTS;
}

const char *sj_sim_intent_label(size_t k, int level, size_t i)
{
    const bank_intent *it = intent_at(k, level, i);
    return it ? it->label : NULL;
}

size_t sj_sim_n_phrasings(size_t k, int level, size_t intent, int focal)
{
    (void)focal;
    return intent_at(k, level, intent) ? BANK_PHRASINGS : 0;
}

const char *sj_sim_phrasing(size_t k, int level, size_t intent, int focal, size_t i)
{
    const bank_intent *it = intent_at(k, level, intent);
    if (!it || i >= BANK_PHRASINGS)
        return NULL;
    return it->phrasing[focal ? 1 : 0][i];
}

/* A parallel form (an item id beyond the bank) says so in its scenario, so
 * that readers of the instrument are not surprised by a repeated text. */
static char *scenario_text(size_t k)
{
    size_t form = k / BANK_SIZE + 1;
    if (form == 1)
        return sj_strdup(BANK[k].scenario);
    return sj_asprintf("%s (Parallel form %zu.)", BANK[k % BANK_SIZE].scenario, form);
}

sj_instrument *sj_sim_instrument(size_t n_items, sj_error *err)
{
    sj_instrument *ins = sj_calloc(1, sizeof *ins);
    if (!ins || n_items == 0)
        goto oom;
    ins->id = sj_strdup("sjt-demo");
    ins->title = sj_strdup("Workplace judgment in everyday situations");
    ins->score_min = SJ_SIM_SCORE_MIN;
    ins->score_max = SJ_SIM_SCORE_MAX;
    ins->n_items = n_items;
    ins->items = sj_calloc(n_items, sizeof *ins->items);
    if (!ins->id || !ins->title || !ins->items)
        goto oom;
    for (size_t k = 0; k < n_items; k++) {
        sj_item *item = &ins->items[k];
        char id[32];
        sj_sim_item_id(k, id, sizeof id);
        item->id = sj_strdup(id);
        item->scenario = scenario_text(k);
        item->question = sj_strdup(QUESTION);
        item->n_rubric = SJ_SIM_LEVELS;
        item->rubric = sj_calloc(SJ_SIM_LEVELS, sizeof *item->rubric);
        if (!item->id || !item->scenario || !item->question || !item->rubric)
            goto oom;
        for (int s = 0; s < SJ_SIM_LEVELS; s++) {
            item->rubric[s].score = SJ_SIM_SCORE_MIN + s;
            item->rubric[s].anchor = sj_strdup(BANK[k % BANK_SIZE].anchor[s]);
            if (!item->rubric[s].anchor)
                goto oom;
        }
    }
    return ins;
oom:
    sj_instrument_free(ins);
    sj_error_set(err, SJ_ERR_WORK, "out of memory building the simulated instrument");
    return NULL;
}
