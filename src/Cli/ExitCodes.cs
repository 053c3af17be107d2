namespace OrleansLlm.Cli;

/// <summary>What <c>orleansllm</c> exits with.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The command could not be done: Redis or the cluster unreachable, an unknown batch, a refused call.</summary>
    public const int Failure = 1;

    /// <summary>The command line or the input file is wrong; nothing was done.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted (Ctrl-C, SIGINT), as shells report it: 128 + 2.</summary>
    public const int Cancelled = 130;
}
