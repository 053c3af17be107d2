using OrleansLlm.Cli;

return await Cli.Build().Parse(args).InvokeAsync();
