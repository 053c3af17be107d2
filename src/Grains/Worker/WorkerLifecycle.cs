using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;

namespace OrleansLlm.Worker;

/// <summary>
/// Starts this silo's worker once the silo is active, and drains it before the silo leaves the cluster.
/// </summary>
/// <remarks>
/// Subscribed at <see cref="ServiceLifecycleStage.Active"/>: on the way down this stage stops first, while the
/// silo can still reach Redis and its grains, so in-flight items can finish or be handed back.
/// </remarks>
public sealed partial class WorkerLifecycle(
    IGrainFactory grains,
    ILocalSiloDetails localSilo,
    IOptions<WorkerOptions> options,
    TimeProvider time,
    ILogger<WorkerLifecycle> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan StatusPollInterval = TimeSpan.FromMilliseconds(100);

    // The worker bounds its own drain by the drain timeout; waiting this much longer only guards against a grain that
    // stopped answering, and stays within the margin the host's shutdown timeout leaves (WorkerOptions.ShutdownMargin).
    private static readonly TimeSpan StuckWorkerMargin = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopWatching = new();
    private Task _watch = Task.CompletedTask;

    public IWorkerGrain Worker => grains.GetGrain<IWorkerGrain>(localSilo.SiloAddress.ToParsableString());

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(WorkerLifecycle), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        await Worker.StartAsync(cancellationToken);
        _watch = WatchAsync(_stopWatching.Token);
    }

    // If the worker's activation ever goes away while the silo runs, calling it brings it (and its pump) back.
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.HeartbeatInterval, time, cancellationToken);
                await Worker.StartAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogWatchFailed(logger, ex);
            }
        }
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopWatching.Cancel();
        await _watch;
        _stopWatching.Dispose();
        var drainTimeout = options.Value.DrainTimeout;
        try
        {
            await Worker.DrainAsync(drainTimeout);

            var deadline = time.GetTimestamp() + (long)((drainTimeout + StuckWorkerMargin).TotalSeconds * time.TimestampFrequency);
            while ((await Worker.GetStatusAsync()).State != WorkerState.Drained)
            {
                if (time.GetTimestamp() > deadline || cancellationToken.IsCancellationRequested)
                {
                    LogDrainGaveUp(logger);
                    return;
                }

                await Task.Delay(StatusPollInterval, time, CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            // Leases left behind expire and are retried elsewhere, so nothing is lost; shutdown must go on.
            LogDrainFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking on the worker failed")]
    private static partial void LogWatchFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo shutdown went ahead before the worker finished draining; its leases will expire and be retried")]
    private static partial void LogDrainGaveUp(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Draining the worker failed; its leases will expire and be retried")]
    private static partial void LogDrainFailed(ILogger logger, Exception ex);
}
