import ConsoleCommands

await AssayCommand.entry()
