using System.CommandLine;
using Spectre.Console;

namespace OrleansLlm.Cli.Top;

/// <summary>
/// <c>orleansllm top</c>: a live table of the cluster, refreshed every second from the coordinator: each silo's
/// state, concurrency limit, Ollama calls in flight, items per second and Ollama queue wait p99, and the queue's totals.
/// </summary>
/// <remarks>
/// Ctrl-C ends it like any other command (System.CommandLine cancels the action); the live display then ends
/// normally, so Spectre.Console shows the cursor again and the last table stays on screen, above the prompt.
/// </remarks>
public static class TopCommand
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var once = new Option<bool>("--once") { Description = "print the table once and exit (for scripts)" };
        var command = new Command("top", "Watch the cluster live: each silo's state, limit, in flight, items/s and Ollama wait p99, and the queue") { once };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var coordinator = cluster.Client.GetCoordinator();
            var console = AnsiConsole.Console;
            if (parse.GetValue(once))
            {
                console.Write(TopView.Render(await coordinator.GetClusterAsync(ct), DateTimeOffset.UtcNow, live: false));
                return;
            }

            var first = TopView.Render(await coordinator.GetClusterAsync(ct), DateTimeOffset.UtcNow, live: true);
            await console.Live(first).StartAsync(async live =>
            {
                while (await WaitAsync(RefreshInterval, ct) && await RefreshAsync(coordinator, ct) is { } next)
                {
                    live.UpdateTarget(next);
                }
            });
        }));
        return command;
    }

    // Null once cancelled (Ctrl-C), even while the coordinator is slow to answer: the loop ends at once, and the live
    // display closes cleanly instead of unwinding with an exception.
    private static async Task<Spectre.Console.Rendering.IRenderable?> RefreshAsync(ICoordinatorGrain coordinator, CancellationToken cancellationToken)
    {
        try
        {
            return TopView.Render(await coordinator.GetClusterAsync(cancellationToken), DateTimeOffset.UtcNow, live: true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    // False once cancelled (Ctrl-C): the loop ends and the live display closes cleanly instead of unwinding with an exception.
    private static async Task<bool> WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
