namespace OrleansLlm;

public static class CoordinatorGrainFactoryExtensions
{
    /// <summary>The cluster's one coordinator. Every caller reaches it here, so it is never two grains by accident.</summary>
    public static ICoordinatorGrain GetCoordinator(this IGrainFactory grains) => grains.GetGrain<ICoordinatorGrain>(0);
}
