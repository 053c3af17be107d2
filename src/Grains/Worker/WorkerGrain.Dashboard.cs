using OrleansLlm.Dashboard;

namespace OrleansLlm.Worker;

// Kept apart from the worker's logic: this only lets the Orleans Dashboard's Grain Details page show the worker's
// state, in-flight calls and limit (see IWorkerDashboardGrain for why it is shaped this way).
public sealed partial class WorkerGrain : IWorkerDashboardGrain
{
    public async Task<WorkerDashboardState> GetState() => WorkerDashboardState.From(await GetStatusAsync(CancellationToken.None));
}
