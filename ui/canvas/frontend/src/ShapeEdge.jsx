// An edge labelled with the tensor shape it carries. The label is an HTML element placed by
// EdgeLabelRenderer rather than SVG text: SVG labels are measured (getBBox) on every render,
// which made a 50-node graph's update after each edit noticeably slower.
// An edge that climbs back up (into the next band of a wrapped layout) runs in right angles around
// the layers instead of cutting across them; where one layer feeds several, each label sits near
// its own target so the labels do not pile up at the shared source.
import { memo } from 'react';
import { BaseEdge, EdgeLabelRenderer, getBezierPath, getSmoothStepPath } from '@xyflow/react';

const NEAR_TARGET = 0.6; // of the way from the edge's middle to its target

function ShapeEdge({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition,
  label, selected, data }) {
  const ends = { sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition };
  const [path, midX, midY] = targetY < sourceY
    ? getSmoothStepPath({ ...ends, borderRadius: 12, offset: 24 })
    : getBezierPath(ends);
  const labelX = data?.fanOut ? midX + NEAR_TARGET * (targetX - midX) : midX;
  const labelY = data?.fanOut ? midY + NEAR_TARGET * (targetY - 16 - midY) : midY;
  return (
    <>
      <BaseEdge id={id} path={path} className={selected ? 'll-edge-path ll-edge-path--selected' : 'll-edge-path'} />
      {label && (
        <EdgeLabelRenderer>
          <div
            className="ll-edge-label"
            data-edge={id}
            data-x={labelX}
            data-y={labelY}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          >
            {label}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export default memo(ShapeEdge);
