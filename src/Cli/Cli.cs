using System.CommandLine;
using System.CommandLine.Invocation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using OrleansLlm.Cli.Commands;
using OrleansLlm.Client;
using StackExchange.Redis;

namespace OrleansLlm.Cli;

/// <summary>
/// The <c>orleansllm</c> commands. Every error is one line on stderr (<c>error: ...</c>): exit code 2 when the command
/// line or the input is wrong, 1 when the command could not be done, 130 on Ctrl-C; <c>--verbose</c> adds the details.
/// </summary>
public static class Cli
{
    public static readonly Option<string?> RedisOption = new("--redis")
    {
        Description = "Redis connection string (default: Redis__ConnectionString, else localhost:6379)",
        Recursive = true,
    };

    public static readonly Option<TimeSpan> ConnectTimeoutOption = Recursive(CliOptions.Duration(
        "--connect-timeout", "how long to wait for Redis and a silo, e.g. 30, 2.5s, 2m", ClientSettings.DefaultConnectTimeout));

    public static readonly Option<bool> VerboseOption = new("--verbose")
    {
        Description = "on errors, show the details (stack traces), and the Orleans client's warnings",
        Recursive = true,
    };

    public static RootCommand Build()
    {
        var root = new RootCommand("orleansllm: submit batches to an OrleansLlm cluster and follow them");
        root.Options.Add(RedisOption);
        root.Options.Add(ConnectTimeoutOption);
        root.Options.Add(VerboseOption);
        // "orleansllm [diagram] ARGS" shows how ARGS parse without running anything (the deploy tests check the Jobs' arguments so).
        root.Directives.Add(new DiagramDirective());
        root.Subcommands.Add(SubmitCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(ResultsCommand.Create());
        root.Subcommands.Add(DeadCommand.Create());
        root.Subcommands.Add(LifecycleCommands.Cancel());
        root.Subcommands.Add(LifecycleCommands.Retry());
        root.Subcommands.Add(LifecycleCommands.Delete());
        root.Subcommands.Add(SiloCommands.Cluster());
        root.Subcommands.Add(SiloCommands.Drain());
        root.Subcommands.Add(SiloCommands.Undrain());
        root.Subcommands.Add(Top.TopCommand.Create());
        return root;
    }

    /// <summary>Parses and runs; a parse error is one line on stderr and exit code 2, not the whole help on stdout.</summary>
    public static async Task<int> InvokeAsync(string[] args)
    {
        var parse = Build().Parse(args);
        if (parse.Action is ParseErrorAction && parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command;
            var name = command is RootCommand ? "orleansllm" : $"orleansllm {command.Name}";
            var commands = string.Join(", ", command.Subcommands.Select(c => c.Name));
            var error = command.Subcommands.Count == 0 ? string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')).Distinct())
                : parse.UnmatchedTokens.Count > 0 ? $"'{parse.UnmatchedTokens[0]}' is not a command: use one of {commands}"
                : $"give a command: {commands}";
            Console.Error.WriteLine($"error: {OneLine(error)} (see '{name} --help')");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync();
    }

    /// <summary>Runs a command's action: Ctrl-C ends it with 130, and every failure becomes one line and an exit code.</summary>
    public static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken, Func<Task> action)
    {
        try
        {
            await action();
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("cancelled");
            return ExitCodes.Cancelled;
        }
        catch (Exception ex)
        {
            var (message, exitCode) = Describe(ex);
            Console.Error.WriteLine($"error: {OneLine(message)}");
            if (parse.GetValue(VerboseOption))
            {
                Console.Error.WriteLine(ex);
            }

            return exitCode;
        }
    }

    /// <summary>Connects to the cluster the command line and the environment name.</summary>
    public static Task<ClusterConnection> ConnectAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var settings = ClientSettings.From(new ConfigurationBuilder().AddEnvironmentVariables().Build(), parse.GetValue(RedisOption))
            with { ConnectTimeout = parse.GetValue(ConnectTimeoutOption) };
        return ClusterConnection.ConnectAsync(settings, cancellationToken, parse.GetValue(VerboseOption)
            ? logging => logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning)
            : null);
    }

    private static T Recursive<T>(T option)
        where T : Option
    {
        option.Recursive = true;
        return option;
    }

    public static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static (string Message, int ExitCode) Describe(Exception ex) => ex switch
    {
        CliException cli => (cli.Message, cli.ExitCode),
        FileNotFoundException or InvalidDataException => (ex.Message, ExitCodes.Usage),
        ClusterUnavailableException => (ex.Message, ExitCodes.Failure),
        // A silo's Redis call failed under the grain call (a timeout, a lost connection): the command can be run again.
        RedisException or RedisTimeoutException => ($"Redis failed the cluster's call ({ex.GetType().Name}): {OneLine(ex.Message)}", ExitCodes.Failure),
        TimeoutException => ($"the cluster did not answer in time: {ex.Message}", ExitCodes.Failure),
        // E.g. the silo we talked to went away mid-call: the command can be run again.
        OrleansException => ($"the cluster call failed ({ex.GetType().Name}): {ex.Message}", ExitCodes.Failure),
        // Grain calls surface the silo's validation errors as these.
        ArgumentException or InvalidOperationException => (ex.Message, ExitCodes.Failure),
        IOException or UnauthorizedAccessException => (ex.Message, ExitCodes.Failure),
        _ => ($"{ex.GetType().Name}: {ex.Message} (--verbose shows where)", ExitCodes.Failure),
    };
}
