namespace OrleansLlm.Dashboard;

/// <summary>
/// What the Orleans Dashboard's <em>Grain Details</em> page shows for a worker: pick the type
/// <c>OrleansLlm.Worker.WorkerGrain</c>, give the silo address as the grain id, and it shows this state.
/// </summary>
/// <remarks>
/// The dashboard (Microsoft.Orleans.Dashboard 10.x) has no extension point for custom pages or panels; its Grain Details
/// page calls any parameterless <c>Task&lt;T&gt;</c> method named exactly <c>GetState</c> on the interfaces a grain
/// class implements and prints the result as JSON. Hence the name, without the usual <c>Async</c> suffix.
/// </remarks>
[Alias("OrleansLlm.IWorkerDashboardGrain")]
public interface IWorkerDashboardGrain : IGrainWithStringKey
{
    [Alias("GetState")]
    Task<WorkerDashboardState> GetState();
}
