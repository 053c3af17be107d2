using OllamaSim;

ParsedCommandLine parsed;
try
{
    parsed = CommandLine.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"OllamaSim: {ex.Message}\n\n{CommandLine.Usage}");
    return 2;
}

if (parsed.ShowHelp)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

await SimulatorServer.RunAsync(parsed.Options, parsed.HostArgs);
return 0;
