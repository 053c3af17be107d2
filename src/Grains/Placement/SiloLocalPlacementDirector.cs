using Orleans.Runtime.Placement;

namespace OrleansLlm.Placement;

/// <summary>Activates a <see cref="SiloLocalPlacement"/> grain on the silo named by its key, and nowhere else.</summary>
internal sealed class SiloLocalPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        SiloAddress silo;
        try
        {
            silo = SiloAddress.FromParsableString(key);
        }
        catch (FormatException ex)
        {
            throw new OrleansException($"Grain {target.GrainIdentity} uses silo-local placement, so its key must be a silo address, not '{key}'.", ex);
        }

        // A worker for a silo that is gone must not come back to life somewhere else.
        if (!context.GetCompatibleSilos(target).Contains(silo))
        {
            throw new OrleansException($"Grain {target.GrainIdentity} belongs to silo {silo}, which is not an active member of the cluster.");
        }

        return Task.FromResult(silo);
    }
}
