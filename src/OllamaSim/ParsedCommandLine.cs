namespace OllamaSim;

/// <summary>The result of parsing the command line: simulator settings plus the arguments left for ASP.NET Core.</summary>
public sealed record ParsedCommandLine(SimulatorOptions Options, string[] HostArgs, bool ShowHelp);
