using OrleansLlm.Cli;

return await Cli.InvokeAsync(args);
