using AgentFunctions.Local;

return await Cli.InvokeAsync(args).ConfigureAwait(false);
