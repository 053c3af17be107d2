namespace OrleansLlm.Cli;

/// <summary>A problem the user can fix, reported as one line without a stack trace.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
