namespace OrleansLlm.Cli;

/// <summary>A problem the user can fix, reported as one line (prefixed with <c>error: </c>) without a stack trace.</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
