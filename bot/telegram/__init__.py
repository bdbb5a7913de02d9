"""The Telegram front end: ``python -m bot run`` (python-telegram-bot 22).

Every reply comes from :mod:`bot.replies`; this package only decides *when* to answer and how
to send it. Behaviour worth knowing:

* **Private chats**: every new text message that is not a command is a question; other
  messages (sticker, photo, voice, ...) get :attr:`bot.texts.Texts.non_text`; unknown commands
  get the /help card.
* **Groups and supergroups**: the bot answers its commands, text messages that mention it
  (``@username``, any case; the mention is removed from the question) and replies to its own
  messages. Non-text messages get :attr:`bot.texts.Texts.non_text` only when they reply to the
  bot. Everything else is ignored silently.
* **Edited messages are ignored**: an edit is never re-answered and never executed as a
  command, so editing a message into ``/reload`` does nothing. Every handler filters on
  ``filters.UpdateType.MESSAGE`` (new messages only; PTB's ``CommandHandler`` would otherwise
  also fire on edits), and polling/webhook ask Telegram only for
  :data:`~bot.telegram.updates.ALLOWED_UPDATES`, which leaves edits out.
* **/reload** is for admins (``telegram.admins`` / ``BOT_ADMINS``) sending the command
  themselves: a message forwarded from an admin, a channel post and a message sent as an
  anonymous group admin (``sender_chat`` set, or from ``GroupAnonymousBot``) are refused
  like anyone else's, politely and with a log line; nothing is reloaded.
* **/unanswered**, for admins in the same way, lists the most asked unanswered questions
  (:mod:`bot.unanswered`, read off the event loop), in private chats only: the list holds
  other people's questions.
* **Inline mode** (``@username question`` in any chat): answers as articles to send; an
  empty query offers the example questions.
* **Flood control** (:func:`~bot.telegram.handlers.flood_limited`, on every handler a user
  can trigger): ``telegram.rate_limit`` updates per user per window, and Telegram's 20 a
  minute per group; over it, one short note per window, then silence.
* **Concurrency**: :class:`~bot.telegram.delivery.PerChatUpdateProcessor` handles updates
  concurrently across chats and in order within one.
* **Language**: a question is answered in its own language, else the user's Telegram client
  language (``language_code``), else English; cards, notes and button taps use the client
  language.
* **Logging**: one line per question (``QUESTION``, or ``UNANSWERED`` when the article does
  not cover it, so ``grep UNANSWERED`` lists them; ``INLINE`` for inline queries, which are
  never counted as unanswered); the bot token never appears in a log.
* **Delivery**: handlers never send messages themselves; their replies go into the durable
  outbox (:mod:`bot.outbox`) and an update is confirmed to Telegram only once they are
  stored. :class:`~bot.telegram.delivery.Delivery` is the one path of polling
  (:func:`~bot.telegram.polling.poll_updates`) and the webhook
  (:mod:`~bot.telegram.webhook`), and sends the outbox per chat, with backoff.
* **Stopping**: SIGTERM/SIGINT stop the bot gracefully within ``SHUTDOWN_SECONDS`` -- no
  retries and short timeouts from then on, a watchdog as the backstop
  (:class:`~bot.telegram.lifecycle.Lifecycle`,
  :mod:`~bot.telegram.signals`, :mod:`~bot.telegram.watchdog`).

The modules: :mod:`~bot.telegram.app` (the handler order, building the application,
``run``), :mod:`~bot.telegram.handlers` (the handlers and the error handler),
:mod:`~bot.telegram.hooks` (command menus and the knowledge watcher at start and stop),
:mod:`~bot.telegram.filters`, :mod:`~bot.telegram.keyboards` (suggestion buttons),
:mod:`~bot.telegram.question_log` (the log line per question, the unanswered file),
:mod:`~bot.telegram.state` (what the handlers share), :mod:`~bot.telegram.retries` (what
is retried when the Bot API fails), :mod:`~bot.telegram.polling` (long polling and the
offset), :mod:`~bot.telegram.updates` (the update kinds asked for, each update once),
:mod:`~bot.telegram.lifecycle` (whether stopping), :mod:`~bot.telegram.signals` (SIGTERM and
SIGINT), :mod:`~bot.telegram.watchdog` (the force exit), :mod:`~bot.telegram.heartbeat` (the
file the health check reads), :mod:`~bot.telegram.delivery` (the update processor and the
outbox's senders) and :mod:`~bot.telegram.webhook` (the webhook server).
"""
