import BotCommands

BotCommand.main()
