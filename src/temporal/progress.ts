import { defineSignal } from '@temporalio/workflow';

/** A waiting activity tells its run how the product job goes (rarely: each report is a history event). */
export interface ProductProgress {
  step: 'waitNsx' | 'waitVcenter';
  detail?: string;
}
export const productProgressSignal = defineSignal<[ProductProgress]>('productProgress');
