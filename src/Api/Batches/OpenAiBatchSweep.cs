using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Api.Batches;

/// <summary>
/// Visits, every <see cref="ApiOptions.SweepInterval"/>, the API batches whose end is not recorded yet: a visit
/// resumes a validation that a dead silo left, and records (and tells) a batch's end though nobody asks for it.
/// Every silo sweeps; a visit is a read of the batch's grain, so two at once change nothing. It also trims the status
/// sets of the batches whose record has expired, and starts the <see cref="ApiBatchMetrics"/> gauge.
/// </summary>
public sealed partial class OpenAiBatchSweep(
    IGrainFactory grains, ApiBatchStore store, ApiBatchMetrics metrics, IOptions<ApiOptions> options, TimeProvider time, ILogger<OpenAiBatchSweep> logger)
    : BackgroundService
{
    private const int Page = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.Observe();
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await VisitAllAsync(stoppingToken);
                await store.TrimStatusesAsync();
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogSweepFailed(logger, ex);
            }
        }
    }

    /// <summary>Every batch not ended, a page of ids at a time, so a long-running batch never keeps a newer one from its visit.</summary>
    private async Task VisitAllAsync(CancellationToken stoppingToken)
    {
        for (var start = 0; ; start += Page)
        {
            var page = await store.OpenAsync(start, Page);
            foreach (var batchId in page)
            {
                if (await grains.GetGrain<IOpenAiBatchGrain>(batchId).GetAsync(tenant: null, stoppingToken) is null)
                {
                    // Its record expired: there is nothing left to record, nor to count.
                    await store.DropAsync(batchId);
                }
            }

            if (page.Count < Page)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The API batches' sweep failed; it tries again at its next round")]
    private static partial void LogSweepFailed(ILogger logger, Exception ex);
}
