using OrleansLlm.Client;

return await Cli.Build().Parse(args).InvokeAsync();
